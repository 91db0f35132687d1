// The worker loop: one submit-and-wait per turn, then completions, timers and housekeeping.
#include "core/proxy/worker.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/base/log.hpp"
#include "core/io/socket_util.hpp"
#include "core/io/tls_context.hpp"

namespace ringlb {
namespace {

constexpr uint32_t kRingEntries = 4096;
constexpr uint32_t kReceiveBuffers = 512;  // per worker; idle connections hold none
constexpr uint32_t kReceiveBufferBytes = 16 * 1024;
constexpr uint16_t kBufferGroup = 0;
constexpr uint32_t kLargeBuffers = 64;  // of Tuning::big_receive_bytes, for bulk receives
constexpr auto kTick = std::chrono::milliseconds(10);
constexpr uint32_t kWheelSlots = 4096;
constexpr auto kLoopWait = std::chrono::milliseconds(50);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

enum Command { kNone = 0, kStop = 1, kAbort = 2 };

// Bench-only (RINGLB_LEVER_ALLOC_PER_REQUEST): one heap allocation and its release, which the
// compiler may not elide, to price what ringlb avoids by allocating nothing per request.
[[gnu::noinline]] void allocate_and_release() {
  void* block = std::malloc(128);
  asm volatile("" : : "r"(block) : "memory");
  std::free(block);
}

}  // namespace

Worker::Worker(uint32_t id, WorkerShared shared)
    : id_(id),
      shared_(shared),
      timers_(kTick, kWheelSlots, Clock::now()),
      ctx_{ring_,      buffers_,       timers_, access_log_,  upstreams_,
           exchanges_, shared_.tuning, id,      Clock::now(), {}} {
  ctx_.slots = this;
  ctx_.current_snapshot = &current_;
  ctx_.random_state ^= (static_cast<uint64_t>(id) << 32) ^
                       static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
}

Worker::~Worker() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

std::string Worker::init(const config::LogConfig& log) {
  if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  int result = ring_.init(kRingEntries, shared_.tuning);
  if (result < 0) return std::string("io_uring_setup: ") + std::strerror(-result);
  ring_.set_busy_poll(std::chrono::microseconds(shared_.tuning.busy_poll_us));
  const uint32_t buffer_count =
      shared_.tuning.receive_buffers ? shared_.tuning.receive_buffers : kReceiveBuffers;
  result = buffers_.init(ring_, kBufferGroup, buffer_count, kReceiveBufferBytes);
  if (result < 0) return std::string("provided buffer ring: ") + std::strerror(-result);
  if (const uint32_t bytes = shared_.tuning.big_receive_bytes) {
    // RINGLB_LEVER_RECEIVE_BUFFERS (tests) shrinks the large group too: it can run dry as well.
    result = buffers_.init_larger(large_buffers_, std::min(kLargeBuffers, buffer_count), bytes);
    if (result < 0) return std::string("large buffer ring: ") + std::strerror(-result);
    ctx_.large_buffers = &large_buffers_;
  }
  if (shared_.tuning.splice != Tuning::Splice::kOff) {
    ctx_.pipes.configure(shared_.tuning.splice_pipes, shared_.tuning.splice_pipe_bytes);
  }
  std::string why;
  if (!access_log_.open(log.access, log.format, why)) return why;
  return "";
}

void Worker::wake() {
  const uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void Worker::request_stop(Clock::time_point deadline) {
  stop_deadline_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  int expected = kNone;
  command_.compare_exchange_strong(expected, kStop, std::memory_order_release);
  wake();
}

void Worker::request_abort() {
  command_.store(kAbort, std::memory_order_release);
  wake();
}

void Worker::run() {
  const std::string name = "w" + std::to_string(id_);
  log::set_thread_name(name.c_str());
  if (id_ == 0) {
    LOG_DEBUG("kTLS is %s; TLS records are made in user space",
              kernel_offers_ktls() ? "offered by the kernel but not used" : "not offered");
  }
  arm_wake();
  const bool submit_each_completion = shared_.tuning.submit != Tuning::Submit::kPerLoopTurn;
  const bool allocate_per_request = shared_.tuning.allocate_per_request;
  while (!finished()) {
    ctx_.now = Clock::now();
    handle_commands();
    if (!stopping_ && shared_.snapshots->generation() != generation_seen_) adopt_snapshot();
    timers_.advance(ctx_.now, [this](TimerNode& node) { on_timer(node); });
    retry_starved_receives();
    if (ctx_.now >= next_upstream_sweep_) {
      upstreams_.close_expired(ctx_.now);
      next_upstream_sweep_ = ctx_.now + std::chrono::seconds(1);
    }
    resume_accepting_if_below_limit();
    resume_accepting_after_backoff();
    reopen_access_log_if_asked();
    access_log_.flush();
    int result = ring_.submit_and_wait(kLoopWait);
    if (result < 0 && result != -ETIME && result != -EINTR && result != -EBUSY) {
      LOG_ERROR("io_uring_enter: %s", std::strerror(-result));
    }
    ctx_.now = Clock::now();
    ring_.for_each_completion([&](const io_uring_cqe& cqe) {
      // A keep-alive request arrives in one client receive: the lever allocates once for it.
      if (allocate_per_request && OpTag::decode(cqe.user_data).kind == OpKind::kRecvClient) {
        allocate_and_release();
      }
      dispatch(cqe);
      if (submit_each_completion) io_uring_submit(ring_.raw());
    });
  }
  // The last sessions' release() queued the closes of their sockets: they go out now, so the
  // clients see the close at once rather than when the process exits.
  io_uring_submit(ring_.raw());
  access_log_.flush();
  current_.reset();
  if (ctx_.tls.handshakes + ctx_.tls.failed_handshakes > 0) {
    LOG_INFO("tls: %llu client handshakes (%llu resumed), %llu failed (%llu of them plain HTTP)",
             static_cast<unsigned long long>(ctx_.tls.handshakes),
             static_cast<unsigned long long>(ctx_.tls.resumed),
             static_cast<unsigned long long>(ctx_.tls.failed_handshakes),
             static_cast<unsigned long long>(ctx_.tls.plain_http));
  }
  LOG_DEBUG("worker stopped");
}

bool Worker::finished() const { return stopping_ && sessions_.size() == 0 && accepts_.size() == 0; }

void Worker::arm_wake() {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::kWake, 0, 0}.encode());
}

void Worker::reopen_access_log_if_asked() {
  if (shared_.access_log_reopens == nullptr) return;
  const uint64_t asked = shared_.access_log_reopens->load(std::memory_order_relaxed);
  if (asked == access_log_reopens_seen_) return;
  access_log_reopens_seen_ = asked;
  std::string why;
  if (!access_log_.reopen(why)) LOG_ERROR("%s; still writing to the old file", why.c_str());
}

// A reload may change [log] access or format; the control thread has checked that the new
// target opens. A worker that still fails keeps its old target and tries again at the next
// snapshot.
void Worker::follow_access_log_settings() {
  const config::LogConfig& log = current_->config.log;
  if (log.access == access_log_.target() && log.format == access_log_.format()) return;
  std::string why;
  if (!access_log_.retarget(log.access, log.format, why)) {
    LOG_ERROR("worker %u: %s; still writing the access log to %s", id_, why.c_str(),
              access_log_.target().c_str());
  }
}

void Worker::handle_commands() {
  const int command = command_.load(std::memory_order_acquire);
  if (command >= kStop && !stopping_) {
    stopping_ = true;
    stop_deadline_time_ =
        Clock::time_point(Clock::duration(stop_deadline_.load(std::memory_order_relaxed)));
    // Shutting the listening socket down makes the kernel refuse new connects at once, where
    // merely not accepting would let them complete into the backlog and hang.
    for (uint32_t i = 0; i < accepts_.capacity(); ++i) {
      if (AcceptSlot* slot = accepts_.at(i)) shutdown(slot->socket->fd, SHUT_RD);
    }
    for (uint32_t i = 0; i < accepts_.capacity(); ++i) retire_accept(i);
    drain_sessions("stopping", true);
  }
  if (!stopping_ || aborted_) return;
  if (command == kAbort) {
    aborted_ = true;
    abort_all_sessions("stopped");
  } else if (ctx_.now >= stop_deadline_time_) {
    aborted_ = true;
    if (sessions_.size() > 0) {
      LOG_INFO("grace period over: closing %u open connections", sessions_.size());
    }
    abort_all_sessions("grace period over");
  }
}

void Worker::drain_sessions(const char* why, bool stopping) {
  uint32_t closed = 0;
  uint32_t finishing = 0;
  for (uint32_t slot = 0; slot < sessions_.capacity(); ++slot) {
    Session* session = session_at(slot);
    if (session == nullptr) continue;
    if (session->drain(stopping)) {
      ++closed;
    } else {
      ++finishing;
    }
    free_session_if_finished(*session, slot);
  }
  LOG_DEBUG("%s: %u idle connections closed, %u left to finish", why, closed, finishing);
}

void Worker::abort_all_sessions(const char* cause) {
  for (uint32_t slot = 0; slot < sessions_.capacity(); ++slot) {
    Session* session = session_at(slot);
    if (session == nullptr) continue;
    session->abort(cause);
    free_session_if_finished(*session, slot);
  }
}

// ---- accepting ----

void Worker::adopt_snapshot() {
  const uint64_t loaded_before = current_ ? current_->loaded : 0;
  current_ = shared_.snapshots->load();
  generation_seen_ = current_->generation;
  max_connections_ = current_->config.runtime.max_connections;
  follow_access_log_settings();
  std::vector<bool> kept(accepts_.capacity(), false);
  for (const Listener& listener : current_->listeners) {
    const std::shared_ptr<ListenSocket>& socket = listener.sockets->per_worker[id_];
    uint32_t index = 0;
    while (index < accepts_.capacity() &&
           !(accepts_.at(index) && accepts_.at(index)->socket == socket)) {
      ++index;
    }
    if (index == accepts_.capacity()) {  // a new listener
      index = accepts_.emplace(AcceptSlot{socket, nullptr, false}).first.slot;
      kept.resize(accepts_.capacity(), false);
    }
    AcceptSlot& slot = *accepts_.at(index);
    slot.listener = &listener;
    kept[index] = true;
    if (!slot.armed && !accepting_paused_) arm_accept(index);
  }
  for (uint32_t i = 0; i < accepts_.capacity(); ++i) {
    if (accepts_.at(i) == nullptr || kept[i]) continue;
    retire_accept(i);
  }
  // Every live session keeps the snapshot it began with: after a reload its listener, pools,
  // routes and backends may be gone, and no health check watches them. So, as nginx's and
  // HAProxy's old workers do, every HTTP connection drains as on a stop (idle ones close now, a
  // request under way is answered with Connection: close); tunnels run on until they end. Once
  // per reload, nothing per request. A rebuild for health or an admin weight keeps the
  // configuration, and drains nothing.
  if (loaded_before != 0 && current_->loaded != loaded_before) {
    drain_sessions("configuration reloaded", false);
  }
}

void Worker::arm_accept(uint32_t index) {
  AcceptSlot& slot = *accepts_.at(index);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_multishot_accept(sqe, slot.socket->fd, nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  const SlotHandle handle = accepts_.handle(index);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::kAccept, handle.slot, handle.generation}.encode());
  slot.armed = true;
}

void Worker::cancel_accept(uint32_t index) {
  const SlotHandle handle = accepts_.handle(index);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_cancel64(sqe, OpTag{OpKind::kAccept, handle.slot, handle.generation}.encode(), 0);
  io_uring_sqe_set_data64(sqe, OpTag{}.encode());
}

void Worker::retire_accept(uint32_t index) {
  AcceptSlot* slot = accepts_.at(index);
  if (slot == nullptr) return;
  slot->listener = nullptr;
  // No snapshot this worker adopts uses the socket any more, but sessions keep their old
  // snapshot (and so the socket) alive: unless it stops listening now, the kernel would keep
  // completing connects into a backlog nobody accepts, and those clients would hang.
  shutdown(slot->socket->fd, SHUT_RD);
  if (!slot->armed) return accepts_.erase(index);
  cancel_accept(index);
}

void Worker::on_accept(OpTag tag, const io_uring_cqe& cqe) {
  AcceptSlot* found = accepts_.find(tag.slot, tag.generation);
  if (found == nullptr) return;
  AcceptSlot& slot = *found;
  if (!(cqe.flags & IORING_CQE_F_MORE)) slot.armed = false;
  if (cqe.res >= 0) {
    if (slot.listener == nullptr) {
      close(cqe.res);  // accepted while its listener was being removed
    } else {
      start_session(cqe.res, *slot.listener);
    }
  } else if (accept_out_of_resources(cqe.res)) {
    if (ctx_.now >= accept_backoff_until_) {
      LOG_WARN("accept on %s: %s; accepting again in %lld ms",
               slot.socket->bind.to_string().c_str(), std::strerror(-cqe.res),
               static_cast<long long>(kAcceptBackoff.count()));
      accept_backoff_until_ = ctx_.now + kAcceptBackoff;
    }
  } else if (cqe.res != -ECANCELED) {
    LOG_WARN("accept on %s: %s", slot.socket->bind.to_string().c_str(), std::strerror(-cqe.res));
  }
  if (slot.armed) return;
  if (slot.listener == nullptr) {
    accepts_.erase(tag.slot);  // retired: drop our socket reference
  } else if (!accepting_paused_ && ctx_.now >= accept_backoff_until_) {
    arm_accept(tag.slot);
  }
}

void Worker::resume_accepting_after_backoff() {
  if (accepting_paused_ || stopping_ || accept_backoff_until_ == Clock::time_point{} ||
      ctx_.now < accept_backoff_until_) {
    return;
  }
  accept_backoff_until_ = {};
  arm_idle_accepts();
}

void Worker::pause_accepting() {
  if (accepting_paused_) return;
  accepting_paused_ = true;
  LOG_WARN("max_connections (%llu) reached: accepting paused",
           static_cast<unsigned long long>(max_connections_));
  for (uint32_t i = 0; i < accepts_.capacity(); ++i) {
    const AcceptSlot* slot = accepts_.at(i);
    if (slot != nullptr && slot->armed && slot->listener != nullptr) cancel_accept(i);
  }
}

void Worker::resume_accepting_if_below_limit() {
  if (!accepting_paused_ || stopping_) return;
  if (shared_.connections->load(std::memory_order_relaxed) >= max_connections_) return;
  accepting_paused_ = false;
  LOG_INFO("below max_connections again: accepting resumed");
  arm_idle_accepts();
}

void Worker::arm_idle_accepts() {
  for (uint32_t i = 0; i < accepts_.capacity(); ++i) {
    const AcceptSlot* slot = accepts_.at(i);
    if (slot != nullptr && slot->listener != nullptr && !slot->armed) arm_accept(i);
  }
}

// The node is the session's own member, which cancels itself when the session goes (RAII), so a
// linked node always has a live owner; the lookup by generation is the check that says so.
void Worker::on_timer(TimerNode& node) {
  const SlotHandle owner = node.owner;
  Session* session = as_session(sessions_.find(owner));
  if (session == nullptr) {
    LOG_ERROR("timer for freed slot %u dropped", owner.slot);  // a lifetime bug if ever seen
    return;
  }
  session->on_timer();
  free_session_if_finished(*session, owner.slot);
}

// Each list is swapped with a spare that keeps its capacity, so neither allocates after warm-up;
// what a retry queues meanwhile lands in the emptied list, for the next turn.
void Worker::retry_starved_receives() {
  if (!ctx_.handovers.empty()) {
    handing_over_.swap(ctx_.handovers);
    for (const OpTag& tag : handing_over_) retry_receive(tag);
    handing_over_.clear();
  }
  // Parked receives resume oldest first, as many as there are free buffers: with the ring
  // empty nothing is retried (no spin), and a buffer given back goes to the longest waiter.
  uint32_t free_buffers = buffers_.available();
  if (ctx_.starved.empty() || free_buffers == 0) return;
  resuming_.swap(ctx_.starved);
  size_t next = 0;
  for (; next < resuming_.size() && free_buffers > 0; ++next) {
    if (retry_receive(resuming_[next])) --free_buffers;
  }
  ctx_.starved.insert(ctx_.starved.begin(), resuming_.begin() + static_cast<ptrdiff_t>(next),
                      resuming_.end());
  resuming_.clear();
}

bool Worker::retry_receive(OpTag tag) {
  Session* session = live_session(tag);
  if (session == nullptr) return false;
  session->retry_receive(tag.kind);
  free_session_if_finished(*session, tag.slot);  // a handed-over EOF may end it
  return true;
}

void Worker::dispatch(const io_uring_cqe& cqe) {
  const OpTag tag = OpTag::decode(cqe.user_data);
  switch (tag.kind) {
    case OpKind::kIgnore:
      return;
    case OpKind::kWake:
      arm_wake();
      return;
    case OpKind::kAccept:
      on_accept(tag, cqe);
      return;
    default:
      break;
  }
  if (cqe.flags & IORING_CQE_F_BUFFER) buffers_.note_taken(cqe);
  Session* session = live_session(tag);
  if (session == nullptr) {
    LOG_ERROR("stale completion for slot %u dropped", tag.slot);  // a lifetime bug if ever seen
    buffers_.take(cqe).reset();
    return;
  }
  session->on_completion(tag.kind, cqe);
  free_session_if_finished(*session, tag.slot);
}

}  // namespace ringlb
