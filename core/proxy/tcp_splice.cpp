// An L4 tunnel's directions moving by splice (splice_pump.hpp): a direction whose receives keep
// filling their buffer borrows a pipe from the worker's pool once its buffer has gone out. The
// pump gives the pipe back whenever it is empty and the source has nothing to give, so a quiet
// connection holds none; the direction returns to copying when the bursts turn small, or when the
// pool has no pipe to lend. A FIN is carried on only once the pipe has drained.
#include <cstring>

#include "core/base/log.hpp"
#include "core/proxy/tcp_session.hpp"

namespace ringlb {

bool TcpSession::start_splice(Direction direction) {
  SplicePump& splice = splices_[direction];
  if (ctx_->tuning.splice == Tuning::Splice::kOff || !splice.wants_pipe() || closing_) return false;
  if (tls_[kClientSocket] || tls_[kBackendSocket]) return false;  // the pipe would carry ciphertext
  // Bytes received into a provided buffer go out by a normal send first, in order.
  const Pipe& held = pipes_[direction];
  if (held.sending || held.buffer || held.spill) return false;
  PipeLease pipe = ctx_->pipes.take();
  if (!pipe) return false;  // the pool is exhausted: copy
  const SplicePump::Ends ends =
      direction == kUpstream ? SplicePump::Ends{client_fd_, backend_fd_, OpKind::kSpliceFromClient,
                                                OpKind::kSpliceToBackend}
                             : SplicePump::Ends{backend_fd_, client_fd_, OpKind::kSpliceFromBackend,
                                                OpKind::kSpliceToClient};
  after_splice_turn(direction,
                    splice.start(*this, *ctx_, std::move(pipe), ends, SplicePump::kNoLimit, true));
  return true;
}

void TcpSession::after_splice_turn(Direction direction, SplicePump::Turn turn) {
  switch (turn) {
    case SplicePump::Turn::kWaiting:
      return;
    case SplicePump::Turn::kNextTurn:
      return hand_over_next_turn(direction == kUpstream ? OpKind::kRecvClient
                                                        : OpKind::kRecvBackend);
    case SplicePump::Turn::kDone:
      pipes_[direction].eof = true;  // the source's FIN, and every byte before it went out
      return finish_direction_if_drained(direction);
    case SplicePump::Turn::kStopped:
      return arm_receive(direction);
    case SplicePump::Turn::kFailed:
      break;
  }
  const SplicePump& splice = splices_[direction];
  const bool client_side = splice.failed_at_source() == (direction == kUpstream);
  if (!client_side) attempt_.outcome = health::Outcome::kReset;
  LOG_DEBUG("splice %s %s: %s", splice.failed_at_source() ? "from" : "to",
            client_side ? "client" : "backend", std::strerror(splice.error()));
  begin_close(client_side ? "client error" : "backend error", false);
}

void TcpSession::on_splice_completion(OpKind kind, int result) {
  const bool source = kind == OpKind::kSpliceFromClient || kind == OpKind::kSpliceFromBackend;
  const Direction direction = kind == OpKind::kSpliceFromClient || kind == OpKind::kSpliceToBackend
                                  ? kUpstream
                                  : kDownstream;
  if (closing_) return splices_[direction].stop();
  after_splice_turn(direction, splices_[direction].on_completion(source, result));
}

}  // namespace ringlb
