// Tests for core/access_log: a reload that changes [log] access or format switches a worker's
// log to the new file and format, and a target that cannot be opened leaves the old one
// writing, so no line is lost either way.
#include "core/proxy/access_log.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace ringlb {
namespace {

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ringlb-access-log-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string contents(const std::string& name) const {
    std::ifstream file(dir_ + "/" + name);
    return std::string(std::istreambuf_iterator<char>(file), {});
  }

  std::string dir_;
};

TEST_F(AccessLogTest, RetargetFlushesTheOldFileThenWritesTheNewOneInTheNewFormat) {
  AccessLog log;
  std::string why;
  ASSERT_TRUE(log.open(dir_ + "/a.log", config::LogFormat::kText, why)) << why;
  log.append("before");
  ASSERT_TRUE(log.retarget(dir_ + "/b.log", config::LogFormat::kJson, why)) << why;
  EXPECT_EQ(log.target(), dir_ + "/b.log");
  EXPECT_EQ(log.format(), config::LogFormat::kJson);
  log.append("after");
  log.flush();
  EXPECT_EQ(contents("a.log"), "before\n");
  EXPECT_EQ(contents("b.log"), "after\n");
}

TEST_F(AccessLogTest, ATargetThatCannotBeOpenedKeepsTheOldFileAndFormat) {
  AccessLog log;
  std::string why;
  ASSERT_TRUE(log.open(dir_ + "/a.log", config::LogFormat::kText, why)) << why;
  EXPECT_FALSE(log.retarget(dir_ + "/missing/b.log", config::LogFormat::kJson, why));
  EXPECT_NE(why.find(dir_ + "/missing/b.log"), std::string::npos) << why;
  EXPECT_EQ(log.target(), dir_ + "/a.log");
  EXPECT_EQ(log.format(), config::LogFormat::kText);
  log.append("kept");
  log.flush();
  EXPECT_EQ(contents("a.log"), "kept\n");
}

TEST_F(AccessLogTest, OffAndStdoutNeedNoFile) {
  EXPECT_EQ(AccessLog::probe("off"), "");
  EXPECT_EQ(AccessLog::probe("stdout"), "");
  EXPECT_EQ(AccessLog::probe(dir_ + "/new.log"), "");
  EXPECT_NE(AccessLog::probe(dir_ + "/missing/x.log"), "");
  AccessLog log;
  std::string why;
  ASSERT_TRUE(log.open(dir_ + "/a.log", config::LogFormat::kText, why)) << why;
  ASSERT_TRUE(log.retarget("off", config::LogFormat::kText, why)) << why;
  EXPECT_FALSE(log.enabled());
}

}  // namespace
}  // namespace ringlb
