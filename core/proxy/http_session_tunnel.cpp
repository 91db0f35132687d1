// HttpSession after a 101: a byte tunnel with one buffer in flight per direction. Each side's
// FIN (a TLS side's close_notify, RFC 8446 §6.1) ends only its own direction: it is carried on
// as shutdown(SHUT_WR), after a close_notify toward a TLS side, once everything that side sent
// has gone out, while the other direction keeps flowing. The session closes when both have
// ended, on an error, or on the idle timeout, as the tcp listener does (tcp_session.cpp).
#include "core/proxy/http_session.hpp"

namespace ringlb {

void HttpSession::pump_tunnel(Side from) {
  const Side to = from == kClient ? kBackend : kClient;
  PendingOutput& output = exchange_->output[to];
  if (output.sending) return;
  const std::string_view input = pending(from);
  if (!input.empty()) {
    output.add_bytes(input);
    consume(from, input.size());
    return send_output(to);
  }
  release_consumed_input(from);
  // A client that half-closed right after its upgrade request did so before the tunnel began.
  if (from == kClient && client_eof_) tunnel_[kClient].eof = true;
  if (tunnel_[from].eof) return finish_tunnel_direction(from);
  arm_receive(from);
}

void HttpSession::on_tunnel_receive_end(Side from, int result) {
  // A reset truncates the stream: no close_notify, which would tell a TLS client it was whole.
  if (result < 0) return close_now(from == kClient ? "client error" : "backend error", false);
  tunnel_[from].eof = true;
  pump_tunnel(from);
}

void HttpSession::on_tunnel_tls_receive(Side from, bool closed) {
  if (closed) tunnel_[from].eof = true;  // nothing more is read: OpenSSL would only buffer it
  pump_tunnel(from);
}

void HttpSession::finish_tunnel_direction(Side from) {
  const Side to = from == kClient ? kBackend : kClient;
  TunnelEnd& end = tunnel_[to];
  if (closing_ || !tunnel_[from].eof || end.fin.begun()) return;
  const PendingOutput& output = exchange_->output[to];
  if (output.sending || !output.empty() || !pending(from).empty()) return;
  // on_tls_sent() comes back here once a TLS side's close_notify has gone out.
  if (end.fin.close_notify_first(tls_[to], [&] { flush_tls(to); })) return;
  submit(end.fin.prep_shutdown(ctx_->ring, fd_of(to)),
         to == kClient ? OpKind::kShutdownClient : OpKind::kShutdownBackend);
}

void HttpSession::on_tunnel_close_notify_sent(Side to) {
  tunnel_[to].fin.close_notify_sent();
  finish_tunnel_direction(to == kClient ? kBackend : kClient);
}

void HttpSession::on_tunnel_shutdown(Side to, int result) {
  const bool carried = tunnel_[to].fin.on_shutdown(result);
  if (closing_) return;
  if (!carried) return close_now(to == kClient ? "client error" : "backend error", false);
  if (tunnel_[kClient].fin.shut() && tunnel_[kBackend].fin.shut()) close_now("done");
}

}  // namespace ringlb
