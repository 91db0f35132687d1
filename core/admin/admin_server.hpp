// The admin listener's connections on the control thread's ring (docs/architecture.md: the admin
// API is served by the control thread, never by a worker). One request per connection: accept, read
// a head (and a small body) with the data path's parser, hand it to the handler, send the answer,
// then shut down and drain before closing. What the answer says is core/admin/admin_routes.cpp's
// business; who gets a slot when all are taken is core/admin/admin_slots.cpp's.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/admin/admin_slots.hpp"
#include "core/http/http_parser.hpp"
#include "core/io/op_tag.hpp"
#include "core/io/ring.hpp"
#include "core/io/slot_table.hpp"

namespace ringlb {

struct AdminRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', undecoded
  std::string authorization;
  std::string host;        // the Host header
  std::string origin;      // sent by browsers on a POST
  std::string fetch_site;  // Sec-Fetch-Site, sent by current browsers
  bool from_loopback = false;
  std::string body;  // at most the parser's max_body_bytes (64 KiB)
};

struct AdminResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class AdminServer {
 public:
  using Clock = std::chrono::steady_clock;
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  AdminServer(Ring& ring, Handler handler);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds now (before the process gives up root); accepting starts with start(). Returns an
  // empty string or why it failed.
  std::string bind(const config::Address& address);
  void start();
  bool listening() const { return listen_fd_ >= 0; }

  // A completion whose tag is one of the kAdmin kinds.
  void on_completion(OpTag tag, int result);
  // Ends connections past their deadline (request, answer or drain). Call about once a second.
  void sweep(Clock::time_point now);
  // Cancels everything and waits (at most `limit`) for the completions; completions of other
  // kinds that arrive meanwhile go to `others`.
  void shutdown(std::chrono::milliseconds limit,
                const std::function<void(const io_uring_cqe&)>& others);

 private:
  struct Connection;

  void arm_accept();
  void on_accept(int result);
  // Frees a slot for a new connection from `peer` when the limits call for it (admin_slots.hpp).
  void make_room_for(const PeerAddress& peer);
  void arm_receive(uint32_t slot);
  void on_receive(Connection& connection, int result);
  void on_drained(Connection& connection, int result);
  void time_out_request(Connection& connection, Clock::time_point now);
  void start_draining(Connection& connection, Clock::time_point now);
  void report(Clock::time_point now);
  void respond(Connection& connection, const AdminResponse& response);
  void arm_send(uint32_t slot);
  void on_send(Connection& connection, int result);
  void close(Connection& connection);
  void free_if_done(Connection& connection);

  Ring& ring_;
  Handler handler_;
  int listen_fd_ = -1;
  bool accept_armed_ = false;
  // Out of descriptors or memory: the accept waits until then (sweep() re-arms it), rather than
  // failing again at once in a loop.
  Clock::time_point accept_retry_at_{};
  // The peer address of the accept in flight (one at a time): loopback or not.
  sockaddr_storage accept_peer_{};
  socklen_t accept_peer_length_ = sizeof(accept_peer_);
  SlotTable<Connection, 32> connections_;
  // Scratch for make_room_for(), kept so a flood of connections allocates nothing per accept.
  std::vector<AdminSlotHolder> holders_;
  std::vector<uint32_t> holder_slots_;
  // Counted, and logged at most once a second, so a flood of connections is one line a second.
  uint64_t replaced_ = 0;
  uint64_t timed_out_ = 0;
  Clock::time_point next_report_at_{};
};

}  // namespace ringlb
