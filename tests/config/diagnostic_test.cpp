// Tests for config/diagnostic: how a problem is printed and counted.
#include "config/diagnostic.hpp"

#include <gtest/gtest.h>

namespace ringlb::config {
namespace {

TEST(Diagnostic, PrintsLikeACompiler) {
  Diagnostic error{Severity::kError, "a.toml", 3, 7, "bad"};
  EXPECT_EQ(error.to_string(), "a.toml:3:7: bad");
  Diagnostic warning{Severity::kWarning, "a.toml", 1, 2, "hm"};
  EXPECT_EQ(warning.to_string(), "a.toml:1:2: warning: hm");
  Diagnostic unpositioned{Severity::kError, "a.toml", 0, 0, "cannot read"};
  EXPECT_EQ(unpositioned.to_string(), "a.toml: cannot read");
  EXPECT_TRUE(has_errors({warning, error}));
  EXPECT_FALSE(has_errors({warning}));
  EXPECT_FALSE(has_errors({}));
}

}  // namespace
}  // namespace ringlb::config
