// The FIN a session owes one socket once the other direction has ended (a half-close), as the
// tcp listener's pipes and the http tunnel after a 101 both carry it: toward a TLS socket a
// close_notify goes first, so the peer can tell the end from a truncation (RFC 8446 §6.1), and
// the shutdown(SHUT_WR) follows once it has gone out. The state and its order live here; the
// owner tags and submits the shutdown, and decides what a failed one means.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "core/io/ring.hpp"
#include "core/io/tls_stream.hpp"

namespace ringlb {

class HalfClose {
 public:
  // The FIN was started: a close_notify or the shutdown is on its way, or it went out.
  bool begun() const { return close_notify_ || shutting_ || shut_; }
  // The shutdown completed: this socket's direction has ended.
  bool shut() const { return shut_; }
  // Toward a TLS socket: the close_notify is going out; the shutdown waits for it.
  bool close_notify_pending() const { return close_notify_; }

  // The FIN's first step toward the socket `tls` belongs to (null: a plain one): an established
  // TLS socket gets a close_notify through the owner's `flush()`. True while it is going out;
  // the owner calls close_notify_sent() once it has, and then comes back here.
  template <typename Flush>
  bool close_notify_first(TlsStream& tls, Flush&& flush) {
    if (tls && tls->established()) close_notify_ = tls.finish(true, std::forward<Flush>(flush));
    return close_notify_;
  }
  // The FIN itself: a shutdown(SHUT_WR) of `fd`, for the owner to tag and submit.
  io_uring_sqe* prep_shutdown(Ring& ring, int fd) {
    io_uring_sqe* sqe = ring.sqe();
    io_uring_prep_shutdown(sqe, fd, SHUT_WR);
    shutting_ = true;
    return sqe;
  }
  void close_notify_sent() { close_notify_ = false; }
  // The shutdown completed with `result`. False when the session should close on an error;
  // -ENOTCONN is no error: the peer has already gone, which is what the FIN says anyway.
  bool on_shutdown(int result) {
    shutting_ = false;
    shut_ = true;
    return result >= 0 || result == -ENOTCONN;
  }

 private:
  bool close_notify_ = false;
  bool shutting_ = false;  // the shutdown is in flight
  bool shut_ = false;
};

}  // namespace ringlb
