// How a multishot receive's completions are routed: handled at once while the session waits,
// queued in order otherwise, a cancel asked for once at the first queued one, and the quiet
// endings (our cancel, an empty buffer ring) turned into a re-arm only while the session waits.
// Whole-proxy behaviour (a held-back upload holds few buffers) is tested through real sockets
// in tests/integration; this pins the order and the edge cases those tests rarely hit.
#include "core/io/multishot_receive.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "core/io/ring.hpp"

namespace ringlb {
namespace {

using Route = MultishotReceive::Route;

io_uring_cqe data(int bytes, uint16_t buffer, bool more = true) {
  io_uring_cqe cqe{};
  cqe.res = bytes;
  cqe.flags = IORING_CQE_F_BUFFER | (static_cast<uint32_t>(buffer) << IORING_CQE_BUFFER_SHIFT) |
              (more ? IORING_CQE_F_MORE : 0);
  return cqe;
}

io_uring_cqe ending(int result) {
  io_uring_cqe cqe{};
  cqe.res = result;
  return cqe;
}

MultishotReceive armed() {
  MultishotReceive receive;
  receive.mark_armed();
  return receive;
}

TEST(MultishotReceive, AWaitedArrivalIsHandledAtOnceAndTheReceiveStaysArmed) {
  MultishotReceive receive = armed();
  EXPECT_EQ(receive.on_completion(data(100, 7), true), Route::kHandle);
  EXPECT_TRUE(receive.armed());
  EXPECT_FALSE(receive.has_arrival());
}

TEST(MultishotReceive, ArrivalsWhileBusyQueueInOrderAndOneCancelIsAskedAtTheFirst) {
  MultishotReceive receive = armed();
  EXPECT_EQ(receive.on_completion(data(10, 1), false), Route::kQueued);
  EXPECT_TRUE(receive.should_cancel());
  EXPECT_EQ(receive.on_completion(data(20, 2), false), Route::kQueued);
  EXPECT_FALSE(receive.should_cancel());  // already on its way
  EXPECT_EQ(receive.on_completion(data(30, 3), false), Route::kQueued);
  EXPECT_FALSE(receive.should_cancel());
  // Even while the session waits, a newer arrival queues behind older ones.
  EXPECT_EQ(receive.on_completion(data(40, 4), true), Route::kQueued);
  for (int bytes : {10, 20, 30, 40}) {
    ASSERT_TRUE(receive.has_arrival());
    EXPECT_EQ(receive.pop().res, bytes);
  }
  EXPECT_FALSE(receive.has_arrival());
}

TEST(MultishotReceive, OurCancelEndsQuietlyAndReArmsOnlyWhileTheSessionWaits) {
  MultishotReceive busy = armed();
  EXPECT_EQ(busy.on_completion(ending(-ECANCELED), false), Route::kNothing);
  EXPECT_FALSE(busy.armed());

  MultishotReceive waiting = armed();
  EXPECT_EQ(waiting.on_completion(ending(-ECANCELED), true), Route::kRearm);
}

TEST(MultishotReceive, AnEmptyBufferRingIsRetriedNextTurnWhileTheSessionWaits) {
  MultishotReceive receive = armed();
  EXPECT_EQ(receive.on_completion(ending(-ENOBUFS), true), Route::kRetryLater);
  EXPECT_FALSE(receive.armed());
}

TEST(MultishotReceive, AQuietEndingBehindQueuedArrivalsLeavesThemToBeHandedOver) {
  MultishotReceive receive = armed();
  EXPECT_EQ(receive.on_completion(data(10, 1), false), Route::kQueued);
  EXPECT_EQ(receive.on_completion(ending(-ENOBUFS), true), Route::kNothing);
  EXPECT_EQ(receive.pop().res, 10);
}

TEST(MultishotReceive, EndOfStreamAndErrorsAreNewsForTheSession) {
  MultishotReceive waiting = armed();
  EXPECT_EQ(waiting.on_completion(ending(0), true), Route::kHandle);
  EXPECT_FALSE(waiting.armed());

  MultishotReceive busy = armed();
  EXPECT_EQ(busy.on_completion(ending(-ECONNRESET), false), Route::kQueued);
  EXPECT_EQ(busy.pop().res, -ECONNRESET);
}

TEST(MultishotReceive, ALastArrivalWithoutMoreDisarmsButIsStillDelivered) {
  MultishotReceive receive = armed();
  EXPECT_EQ(receive.on_completion(data(50, 9, false), false), Route::kQueued);
  EXPECT_FALSE(receive.armed());
  EXPECT_FALSE(receive.should_cancel());  // nothing armed to cancel
  EXPECT_EQ(receive.pop().res, 50);
}

TEST(MultishotReceive, AWaitingArrivalKeepsItsBytesButGivesItsBufferBackAtOnce) {
  Ring ring;
  ASSERT_EQ(ring.init(8), 0);
  BufferRing buffers;
  ASSERT_EQ(buffers.init(ring, 0, 4, 64), 0);
  MultishotReceive receive = armed();
  std::memcpy(buffers.data(2), "hello", 5);
  buffers.note_taken(data(5, 2));  // as the worker does for each completion with a buffer
  ASSERT_EQ(receive.on_completion(data(5, 2), false), Route::kQueued);
  receive.hold_last(buffers);
  EXPECT_EQ(buffers.available(), 4u);
  std::memcpy(buffers.data(2), "XXXXX", 5);  // the kernel may fill the buffer again at once
  std::memcpy(buffers.data(1), " world", 6);
  buffers.note_taken(data(6, 1));
  ASSERT_EQ(receive.on_completion(data(6, 1), false), Route::kQueued);
  receive.hold_last(buffers);
  EXPECT_EQ(buffers.available(), 4u);

  const io_uring_cqe first = receive.pop();
  EXPECT_EQ(first.flags & IORING_CQE_F_BUFFER, 0u);
  EXPECT_NE(first.flags & MultishotReceive::kHeldBytes, 0u);
  EXPECT_EQ(first.res, 5);
  EXPECT_EQ(receive.popped_bytes(), "hello");
  EXPECT_EQ(receive.pop().res, 6);
  EXPECT_EQ(receive.popped_bytes(), " world");
  EXPECT_FALSE(receive.has_arrival());
}

}  // namespace
}  // namespace ringlb
