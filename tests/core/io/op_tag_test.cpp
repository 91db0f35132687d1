// user_data round trip: a stale generation must be distinguishable from the live one.
#include "core/io/op_tag.hpp"

#include <gtest/gtest.h>

namespace ringlb {
namespace {

TEST(OpTag, RoundTripsKindSlotAndGeneration) {
  const OpTag tag{OpKind::kSendBackend, 123456, 0xABCDEF};
  const OpTag back = OpTag::decode(tag.encode());
  EXPECT_EQ(back.kind, OpKind::kSendBackend);
  EXPECT_EQ(back.slot, 123456u);
  EXPECT_EQ(back.generation, 0xABCDEFu);
}

TEST(OpTag, GenerationWrapsAt24Bits) {
  const OpTag tag{OpKind::kConnect, 1, 0x1000001};
  EXPECT_EQ(OpTag::decode(tag.encode()).generation, 1u);
}

}  // namespace
}  // namespace ringlb
