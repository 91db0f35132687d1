// Tests for config/suggest: the did-you-mean attached to unknown keys and names.
#include "config/suggest.hpp"

#include <gtest/gtest.h>

namespace ringlb::config {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("workers", "workers"), 0u);
  EXPECT_EQ(edit_distance("wrokers", "workers"), 2u);  // a transposition is two edits
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("pool", "pools"), 1u);
}

TEST(Suggest, FindsTheNearestCandidate) {
  std::vector<std::string> keys = {"workers", "max_connections", "grace_period", "user"};
  EXPECT_EQ(suggest("wrokers", keys), "workers");
  EXPECT_EQ(suggest("max_conections", keys), "max_connections");
  EXPECT_EQ(suggest("usr", keys), "user");
}

TEST(Suggest, StaysSilentWhenNothingIsClose) {
  std::vector<std::string> keys = {"workers", "user"};
  EXPECT_EQ(suggest("threads", keys), "");
  EXPECT_EQ(suggest("anything", {}), "");
}

TEST(Suggest, AllowsOneEditPerThreeLettersAndAtLeastOne) {
  std::vector<std::string> pools = {"app"};
  EXPECT_EQ(suggest("ap", pools), "app");  // len 2: one edit allowed
  EXPECT_EQ(suggest("a", pools), "");      // two edits away
  EXPECT_EQ(suggest("xyz", pools), "");
  std::vector<std::string> long_name = {"backends"};
  EXPECT_EQ(suggest("bakcends", long_name), "backends");  // len 8: two edits allowed
  EXPECT_EQ(suggest("bckends", long_name), "backends");
  EXPECT_EQ(suggest("bxkcends", long_name), "");  // three edits
}

TEST(Suggest, PrefersTheEarliestOnATie) { EXPECT_EQ(suggest("ab", {"aa", "bb"}), "aa"); }

TEST(DidYouMean, FormatsTheSuffixWithTheQuoteAsked) {
  EXPECT_EQ(did_you_mean("wrokers", {"workers"}), "; did you mean 'workers'?");
  EXPECT_EQ(did_you_mean("htp", {"http", "tcp"}, '"'), "; did you mean \"http\"?");
  EXPECT_EQ(did_you_mean("zzzzzz", {"http"}), "");
}

}  // namespace
}  // namespace ringlb::config
