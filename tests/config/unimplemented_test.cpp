// Tests for config/unimplemented: what this build refuses or warns about because the feature
// is parsed but not built yet. Delete a test together with its check when the feature lands.
#include "config/unimplemented.hpp"

#include <gtest/gtest.h>

#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

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
