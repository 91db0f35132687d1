// The L4 tunnel's state machine: connect (with one retry elsewhere), pump both directions with
// one buffer each, carry FINs, close by cancelling what is in flight. TLS: tcp_session_tls.cpp.
#include "core/proxy/tcp_session.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "balancers/hash_key.hpp"
#include "core/base/log.hpp"
#include "core/io/proxy_header_send.hpp"
#include "core/proxy/access_log.hpp"

namespace ringlb {

void TcpSession::start(WorkerContext& ctx, OpTag tag, int client_fd,
                       std::shared_ptr<const Snapshot> snapshot, const Listener& listener,
                       const CarriedAddresses* carried) {
  bind(ctx, tag);
  client_fd_ = client_fd;
  snapshot_ = std::move(snapshot);
  listener_ = &listener;
  started_ = last_activity_ = ctx.now;
  listener_stats().accepted.add();
  listener_stats().active_up.add();
  if (carried != nullptr) {
    client_address_ = carried->client;
    local_address_ = carried->local;
  } else if (ctx.access_log.enabled() || listener.pool->balancer->uses_key() ||
             listener.pool->config->send_proxy_protocol != config::ProxyProtocolSend::kOff) {
    socklen_t length = sizeof(client_address_);
    getpeername(client_fd, reinterpret_cast<sockaddr*>(&client_address_), &length);
  }
  const config::ListenerTimeouts& timeouts = listener.config->timeouts;
  ctx.timers.schedule(
      timer_, ctx.now + (listener.tls ? std::min(timeouts.client_idle, timeouts.tls_handshake)
                                      : timeouts.client_idle));
  if (listener.tls) return start_tls(kClientSocket, listener.tls->initial());
  connect_next();
}

void TcpSession::connect_next() {
  const Pool& pool = *listener_->pool;
  std::optional<uint64_t> key_hash;
  if (pool.balancer->uses_key()) {
    key_hash = balancers::hash_client_ip(peer_address_bytes(client_address_));
  }
  if (!attempt_.pick(pool, ctx_->worker_id, key_hash)) {
    LOG_WARN("listener %s: no eligible backend left in pool %s", listener_->config->name.c_str(),
             pool.config->name.c_str());
    begin_close(attempt_.backends_tried() == 0 ? "no backend" : "connect failed");
    return;
  }
  backend_fd_ =
      start_connect(attempt_.address(), attempt_.connect_timeout(), attempt_.timeout_storage());
  if (backend_fd_ < 0) {
    LOG_ERROR("socket for backend: %s", std::strerror(-backend_fd_));
    backend_fd_ = -1;
    begin_close("socket failed");
  }
}

void TcpSession::on_connected(int result) {
  if (closing_) {
    if (result != 0) attempt_.outcome = health::Outcome::kConnectFailed;
    return;
  }
  if (result == 0) {
    result = send_proxy_header(listener_->pool->config->send_proxy_protocol, backend_fd_,
                               client_fd_, client_address_, local_address_);
  }
  if (result == 0) {
    health::BackendWorkerStats& stats = backend_state().stats(ctx_->worker_id);
    stats.requests.add();
    stats.connect_time.observe(
        std::chrono::duration_cast<std::chrono::microseconds>(ctx_->now - started_));
    if (listener_->pool->tls) return start_tls(kBackendSocket, listener_->pool->tls->context());
    return start_pumping();
  }
  const bool timed_out =
      attempt_.connect_failed(ctx_->worker_id, result) == AttemptFailure::kConnectTimeout;
  attempt_.finish(timed_out ? health::Outcome::kConnectTimeout : health::Outcome::kConnectFailed);
  close(backend_fd_);
  backend_fd_ = -1;
  if (attempt_.may_try_another()) {
    listener_stats().retries.add();
    connect_next();
  } else {
    begin_close("connect failed");
  }
}

void TcpSession::start_pumping() {
  for (Direction direction : {kUpstream, kDownstream}) {
    const Pipe& pipe = pipes_[direction];
    if ((pipe.buffer || pipe.spill) && pipe.sent < pipe.length) {
      send_pending(direction);  // plaintext that came with the client's handshake
    } else if (pipe.eof) {
      finish_direction_if_drained(direction);  // a close_notify came with it
    } else {
      arm_receive(direction);
    }
  }
}

void TcpSession::arm_receive(Direction direction) {
  Pipe& pipe = pipes_[direction];
  if (closing_ || pipe.receiving || pipe.eof || pipe.spill || pipe.queued.length > 0) return;
  // One buffer per direction; two in flight, the one being sent and the one being received.
  if ((pipe.sending || pipe.buffer) && !overlaps()) return;
  // A TLS source with more than TlsStream::kMaxUnsent waiting to go to it (KeyUpdate replies
  // it does not read) is read again once that went out (on_tls_sent).
  if (TlsStream& tls = tls_[source_of(direction)]; tls && !tls.may_receive()) return;
  if (splices_[direction].active() || start_splice(direction)) return;
  pipe.receiving = true;
  submit_pipe_receive(direction);
}

void TcpSession::retry_receive(OpKind kind) {
  const Direction direction = kind == OpKind::kRecvClient ? kUpstream : kDownstream;
  if (splices_[direction].active()) {  // resumed after its turn's rounds
    if (closing_) return;
    return after_splice_turn(direction, splices_[direction].pump());
  }
  arm_receive(direction);
}

void TcpSession::on_receive(Direction direction, const io_uring_cqe& cqe) {
  Pipe& pipe = pipes_[direction];
  pipe.receiving = false;
  if (!adapt_receive_size(pipe, cqe.res)) return arm_receive(direction);
  splices_[direction].note_receive(cqe.res);
  if (BufferLease buffer = ctx_->buffers.take(cqe); buffer && !closing_ && cqe.res > 0) {
    keep_received(pipe, std::move(buffer), static_cast<uint32_t>(cqe.res));
  }
  if (closing_) return;
  TlsChannel* tls = tls_[source_of(direction)].get();
  if (cqe.res > 0 && tls != nullptr) {
    last_activity_ = ctx_->now;
    if (direction == kUpstream && tls->fed() == 0 && !handshake_allowed()) {
      return_buffer(pipe);
      return begin_close("tls handshake rate limit", false);
    }
    const bool fed = tls->feed(pipe_data(pipe), pipe.length);
    pipe.length = 0;
    if (!fed) {
      return_buffer(pipe);
      return begin_close(direction == kUpstream ? "client error" : "backend error", false);
    }
    if (!tls->established()) return advance_handshake(source_of(direction));
    return deliver_plaintext(direction);
  }
  if (cqe.res > 0) {
    last_activity_ = ctx_->now;
    if (overlaps()) return on_overlapped_receive(direction);
    send_pending(direction);
  } else if (cqe.res == 0 && tls != nullptr && !tls->established()) {
    begin_close("client closed during the handshake");  // a truncated ClientHello, a probe
  } else if (cqe.res == 0) {
    pipe.eof = true;
    finish_direction_if_drained(direction);
  } else if (cqe.res == -ENOBUFS) {
    wait_for_buffers(direction == kUpstream ? OpKind::kRecvClient : OpKind::kRecvBackend);
  } else {
    if (direction == kDownstream) attempt_.outcome = health::Outcome::kReset;
    LOG_DEBUG("receive from %s: %s", direction == kUpstream ? "client" : "backend",
              std::strerror(-cqe.res));
    begin_close(direction == kUpstream ? "client error" : "backend error", false);
  }
}

void TcpSession::send_pending(Direction direction) {
  Pipe& pipe = pipes_[direction];
  const Socket sink = direction == kUpstream ? kBackendSocket : kClientSocket;
  if (TlsChannel* tls = tls_[sink].get()) {
    tls->write({pipe_data(pipe) + pipe.sent, pipe.length - pipe.sent});
    pipe.flush_mark = tls->produced();
    pipe.sending = true;
    // The channel holds the bytes now; unless more plaintext is to be read into it, the
    // buffer goes back before the (maybe slow) peer has taken the ciphertext.
    if (!pipe.more) return_buffer(pipe);
    return flush_tls(sink);
  }
  if (overlaps()) return send_gathered(direction);
  // Bytes in a provided buffer go out with MSG_DONTWAIT first: a sink that cannot take them
  // at once completes the send short (or -EAGAIN) instead of waiting with the buffer held.
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_send(sqe, sink_fd(direction), pipe_data(pipe) + pipe.sent, pipe.length - pipe.sent,
                     MSG_NOSIGNAL | (pipe.buffer ? MSG_DONTWAIT : 0));
  pipe.sending = true;
  submit(sqe, direction == kUpstream ? OpKind::kSendBackend : OpKind::kSendClient);
}

void TcpSession::on_send(Direction direction, int result) {
  Pipe& pipe = pipes_[direction];
  pipe.sending = false;
  if (closing_) {
    return_buffer(pipe);
    return;
  }
  if (result == -EAGAIN) result = 0;  // a MSG_DONTWAIT send found the sink's socket full
  if (result < 0) {
    if (direction == kUpstream) attempt_.outcome = health::Outcome::kReset;
    LOG_DEBUG("send to %s: %s", direction == kUpstream ? "backend" : "client",
              std::strerror(-result));
    begin_close(direction == kUpstream ? "backend error" : "client error", false);
    return;
  }
  pipe.bytes += static_cast<uint64_t>(result);
  if (result > 0) last_activity_ = ctx_->now;
  if (overlaps()) return on_gathered_sent(direction, static_cast<uint32_t>(result));
  pipe.sent += static_cast<uint32_t>(result);
  if (pipe.sent < pipe.length) {
    if (pipe.buffer) spill_unsent(pipe);
    send_pending(direction);  // short send: the rest, in order; now waiting for the sink
    return;
  }
  on_pipe_sent(direction);
}

// The pipe's buffer went out whole: decrypt what the source's channel still holds into the same
// buffer, or give the buffer back and receive again (or carry the FIN on).
void TcpSession::on_pipe_sent(Direction direction) {
  Pipe& pipe = pipes_[direction];
  if (pipe.more) return deliver_plaintext(direction);
  return_buffer(pipe);
  if (pipe.eof) return finish_direction_if_drained(direction);
  arm_receive(direction);
}

void TcpSession::finish_direction_if_drained(Direction direction) {
  Pipe& pipe = pipes_[direction];
  if (!pipe.eof || pipe.buffer || pipe.spill || pipe.queued.length > 0 || pipe.sending ||
      pipe.fin.begun()) {
    return;
  }
  const Socket sink = direction == kUpstream ? kBackendSocket : kClientSocket;
  // on_tls_sent() comes back here once a TLS sink's close_notify has gone out.
  if (pipe.fin.close_notify_first(tls_[sink], [&] { flush_tls(sink); })) return;
  submit(pipe.fin.prep_shutdown(ctx_->ring, sink_fd(direction)),
         direction == kUpstream ? OpKind::kShutdownBackend : OpKind::kShutdownClient);
}

void TcpSession::on_shutdown(Direction direction, int result) {
  const bool carried = pipes_[direction].fin.on_shutdown(result);
  if (closing_) return;
  if (!carried) {
    return begin_close(direction == kUpstream ? "backend error" : "client error", false);
  }
  if (pipes_[kUpstream].fin.shut() && pipes_[kDownstream].fin.shut()) begin_close("done");
}

void TcpSession::on_completion(OpKind kind, const io_uring_cqe& cqe) {
  completed(cqe);
  switch (kind) {
    case OpKind::kConnect:
      on_connected(cqe.res);
      break;
    case OpKind::kRecvClient:
      on_receive(kUpstream, cqe);
      break;
    case OpKind::kRecvBackend:
      on_receive(kDownstream, cqe);
      break;
    case OpKind::kSendBackend:
      on_sent_to(kBackendSocket, cqe.res);
      break;
    case OpKind::kSendClient:
      on_sent_to(kClientSocket, cqe.res);
      break;
    case OpKind::kShutdownBackend:
      on_shutdown(kUpstream, cqe.res);
      break;
    case OpKind::kShutdownClient:
      on_shutdown(kDownstream, cqe.res);
      break;
    case OpKind::kSpliceFromClient:
    case OpKind::kSpliceToBackend:
    case OpKind::kSpliceFromBackend:
    case OpKind::kSpliceToClient:
      on_splice_completion(kind, cqe.res);
      break;
    default:
      break;  // link timeouts and cancels carry nothing to act on
  }
}

// A send toward a TLS socket sent its channel's ciphertext; toward a plain one, the pipe's bytes.
void TcpSession::on_sent_to(Socket sink, int result) {
  if (tls_[sink]) return on_tls_sent(sink, result);
  on_send(direction_into(sink), result);
}

void TcpSession::on_timer() {
  if (closing_) return;
  if (close_when_flushed_.armed()) return begin_close(close_when_flushed_.cause(), false);
  const config::ListenerTimeouts& timeouts = listener_->config->timeouts;
  auto due = last_activity_ + timeouts.client_idle;
  // The client's handshake has one deadline from accept; bytes trickling in do not extend it.
  if (tls_[kClientSocket] && !tls_[kClientSocket]->established()) {
    const auto handshake_due = started_ + timeouts.tls_handshake;
    if (ctx_->now >= handshake_due) {
      ctx_->tls.count_failure(false, listener_stats());
      return begin_close("tls handshake timeout", false);
    }
    due = std::min(due, handshake_due);
  }
  if (ctx_->now >= due) return begin_close("idle timeout");
  ctx_->timers.schedule(timer_, due);
}

void TcpSession::begin_close(const char* cause, bool graceful) {
  if (closing_) return;
  if (graceful && close_tls_gracefully(cause)) return;
  end_cause_ = cause;
  cancel_all({client_fd_, backend_fd_});
}

void TcpSession::return_buffer(Pipe& pipe) {
  if (pipe.spill) ctx_->spill_chunks.give_back(std::move(pipe.spill));
  pipe.buffer.reset();
  if (pipe.queued.spill) ctx_->spill_chunks.give_back(std::move(pipe.queued.spill));
  pipe.queued.buffer.reset();
  pipe.queued.length = 0;
}

char* TcpSession::pipe_data(const Pipe& pipe) const {
  if (pipe.spill) return pipe.spill.get();
  return pipe.buffer.data();
}

// The chunk is as large as a provided buffer, so a TLS source can decrypt its next plaintext
// into it (read_plaintext) as it would into the buffer.
void TcpSession::spill_unsent(Pipe& pipe) {
  pipe.spill = ctx_->spill_chunks.take(chunk_bytes());
  const char* data = pipe.buffer.data();
  std::memcpy(pipe.spill.get(), data + pipe.sent, pipe.length - pipe.sent);
  pipe.length -= pipe.sent;
  pipe.sent = 0;
  pipe.buffer.reset();
}

void TcpSession::release() {
  for (Pipe& pipe : pipes_) {
    return_buffer(pipe);
  }
  for (SplicePump& splice : splices_) splice.release_pipe();  // a pipe holding bytes closes
  for (auto& tls : tls_) tls.reset();  // nothing is in flight: no send points into a channel
  attempt_.finish();
  count_connection();
  if (ctx_->access_log.enabled()) log_access();
  close_fd(client_fd_);
  close_fd(backend_fd_);
  snapshot_.reset();
}

void TcpSession::count_connection() {
  health::ListenerWorkerStats& listener = listener_stats();
  listener.active_down.add();
  listener.bytes_from_client.add(carried(kUpstream));
  listener.bytes_to_client.add(carried(kDownstream));
  listener.bytes_spliced.add(splices_[kUpstream].bytes() + splices_[kDownstream].bytes());
  listener.request_duration.observe(
      std::chrono::duration_cast<std::chrono::microseconds>(ctx_->now - started_));
  if (!attempt_.has_backend()) return;
  health::BackendWorkerStats& backend = backend_state().stats(ctx_->worker_id);
  backend.bytes_from_client.add(carried(kUpstream));
  backend.bytes_to_client.add(carried(kDownstream));
}

void TcpSession::log_access() {
  sockaddr_storage peer{};
  std::memcpy(&peer, &client_address_, sizeof(client_address_));
  const std::string client = format_socket_address(peer);
  const std::string backend = attempt_.has_backend() ? backend_state().address() : "-";
  const auto duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(ctx_->now - started_).count();
  // The listener's name and the end cause are escaped as in the http line, so a name with a
  // space or a quote still reads back as one value.
  const config::LogFormat log_format = ctx_->access_log.format();
  char listener[256];
  char end[256];
  char line[1024];  // larger than the escaped values and the fixed text: a line is never cut
  const char* format = log_format == config::LogFormat::kJson
                           ? "{\"type\":\"tcp\",\"listener\":\"%s\",\"client\":\"%s\","
                             "\"backend\":\"%s\",\"bytes_in\":%llu,\"bytes_out\":%llu,"
                             "\"duration_ms\":%lld,\"end\":\"%s\"}"
                           : "tcp listener=%s client=%s backend=%s bytes_in=%llu bytes_out=%llu "
                             "duration_ms=%lld end=%s";
  std::snprintf(line, sizeof(line), format,
                escape_log_value(listener_->config->name, log_format, listener), client.c_str(),
                backend.c_str(), static_cast<unsigned long long>(carried(kUpstream)),
                static_cast<unsigned long long>(carried(kDownstream)),
                static_cast<long long>(duration), escape_log_value(end_cause_, log_format, end));
  ctx_->access_log.append(line);
}

}  // namespace ringlb
