// Tests for config/unimplemented: what this build refuses or warns about because the feature
// is parsed but not built yet. Delete a test together with its check when the feature lands.
#include "config/unimplemented.hpp"

#include <gtest/gtest.h>

#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

TEST(Unimplemented, TlsSectionsAreRefusedAndStillChecked) {
  LoadResult result = load_before_base({
      "[listeners.web.tls]",    // 1
      "min_version = \"1.4\"",  // 2
      "alpn = [\"h2\", 11]",    // 3
      "[pools.app.tls]",        // 4
      "verify = \"yes\"",       // 5
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:1:1: TLS needs at least one entry in 'certificates'",
                     "test.toml:2:15: 'min_version' must be \"1.2\" or \"1.3\", not \"1.4\"; "
                     "did you mean \"1.2\"?",
                     "test.toml:3:15: 'alpn' must hold only strings, not an integer",
                     "test.toml:4:1: TLS is not supported yet in this build",
                     "test.toml:5:10: 'verify' must be a boolean (true or false), not a "
                     "string"));
}

TEST(Unimplemented, AdminListenLoadsWithAWarning) {
  LoadResult result = load_before_base({"[admin]", "listen = \"127.0.0.1:9090\"", "token = \"s\""});
  EXPECT_EQ(printed(result),
            expected("test.toml:2:10: warning: the admin API is not implemented yet in this "
                     "build"));
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->admin.listen->to_string(), "127.0.0.1:9090");
  EXPECT_EQ(result.config->admin.token, "s");
}

}  // namespace
}  // namespace ringlb::config
