// A provided buffer's lease: the buffer goes back to the ring exactly once, when whoever holds
// the lease last lets go of it.
#include "core/io/ring.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ringlb {
namespace {

io_uring_cqe carrying(uint16_t buffer) {
  io_uring_cqe cqe{};
  cqe.res = 5;
  cqe.flags = IORING_CQE_F_BUFFER | (static_cast<uint32_t>(buffer) << IORING_CQE_BUFFER_SHIFT);
  return cqe;
}

class BufferLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(ring_.init(8), 0);
    ASSERT_EQ(buffers_.init(ring_, 0, 4, 64), 0);
  }
  // As the worker does for each completion that carries a buffer.
  BufferLease take(uint16_t buffer) {
    buffers_.note_taken(carrying(buffer));
    return buffers_.take(carrying(buffer));
  }

  Ring ring_;
  BufferRing buffers_;
};

TEST_F(BufferLeaseTest, TheBufferGoesBackWhenTheLeaseEnds) {
  {
    const BufferLease lease = take(2);
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease.data(), buffers_.data(2));
    EXPECT_EQ(buffers_.available(), 3u);
  }
  EXPECT_EQ(buffers_.available(), 4u);
}

TEST_F(BufferLeaseTest, AMoveHandsTheBufferOverAndGivesNothingBackTwice) {
  BufferLease first = take(1);
  BufferLease second = std::move(first);
  EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): a moved-from lease is empty
  EXPECT_TRUE(second);
  first.reset();
  EXPECT_EQ(buffers_.available(), 3u);
  second.reset();
  second.reset();
  EXPECT_EQ(buffers_.available(), 4u);
}

TEST_F(BufferLeaseTest, AssigningOverAHeldLeaseGivesTheOldBufferBack) {
  BufferLease lease = take(0);
  lease = take(3);
  EXPECT_EQ(buffers_.available(), 3u);
  EXPECT_EQ(lease.data(), buffers_.data(3));
}

TEST_F(BufferLeaseTest, ACompletionWithoutABufferGivesAnEmptyLease) {
  io_uring_cqe cqe{};
  cqe.res = -ENOBUFS;
  EXPECT_FALSE(buffers_.take(cqe));
  EXPECT_EQ(buffers_.available(), 4u);
}

// Adaptive receives: a larger group whose ids follow the small ring's. A completion's id alone
// routes its lease and its count to the ring it came from.
TEST_F(BufferLeaseTest, ALargerGroupsIdsRouteTheLeaseToItsOwnRing) {
  BufferRing larger;
  ASSERT_EQ(larger.init(ring_, 1, 2, 256, 4), 0);
  buffers_.add_larger(larger);
  {
    const BufferLease big = take(5);
    const BufferLease small = take(3);
    EXPECT_EQ(big.data(), larger.data(5));
    EXPECT_EQ(larger.data(5) - larger.data(4), 256);
    EXPECT_EQ(small.data(), buffers_.data(3));
    EXPECT_EQ(larger.available(), 1u);
    EXPECT_EQ(buffers_.available(), 3u);
  }
  EXPECT_EQ(larger.available(), 2u);
  EXPECT_EQ(buffers_.available(), 4u);
}

}  // namespace
}  // namespace ringlb
