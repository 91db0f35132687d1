// AdminServer: accept, receive, answer, drain, close; one operation in flight per connection, so
// closing is "cancel that one, wait for its completion, then free" (docs/architecture.md). Each
// phase (request, answer, drain) has one deadline for all of it, so trickling bytes buys no time.
#include "core/admin/admin_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>

#include "core/base/log.hpp"
#include "core/http/http_serializer.hpp"
#include "core/io/socket_util.hpp"

namespace ringlb {
namespace {

constexpr AdminSlotLimits kSlotLimits{.total = 64, .per_address = 16};
// A replaced connection keeps its slot until its cancelled operation completes, a loop turn
// later, so the table has room beyond the limit for those.
constexpr size_t kMaxSlots = 2 * kSlotLimits.total;
// The whole request, head and body, from accept: as timeouts.header on listeners, but counted
// from accept, because a connection that sends nothing holds a slot too.
constexpr std::chrono::seconds kRequestLimit{5};
constexpr std::chrono::seconds kAnswerLimit{10};  // the whole answer, to a client that reads
// After the answer: FIN, then read and drop what the client still sends until it closes. Closing
// with unread bytes sends an RST, which can destroy the answer before the client reads it (a 413
// while the body is still on its way).
constexpr std::chrono::seconds kDrainLimit{2};
constexpr size_t kDrainBytes = size_t{1} << 20;
constexpr std::chrono::seconds kReportInterval{1};
constexpr std::chrono::milliseconds kAcceptBackoff{100};
constexpr size_t kReceiveChunk = 4096;
constexpr http::ParserLimits kLimits{.max_header_bytes = 16 << 10, .max_body_bytes = 64 << 10};

bool is_loopback(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer);
    return (ntohl(in4.sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && in6.sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

std::string render_answer(const AdminResponse& response, bool with_body) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    std::string(http::reason_phrase(response.status)) +
                    "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n";
  if (response.status == 401) out += "WWW-Authenticate: Bearer realm=\"ringlb\"\r\n";
  out += "\r\n";
  if (with_body) out += response.body;
  return out;
}

}  // namespace

struct AdminServer::Connection {
  enum class Phase : uint8_t { kRequest, kAnswer, kDrain };

  Connection(int fd_in, const sockaddr_storage& address, Clock::time_point now)
      : fd(fd_in),
        from_loopback(is_loopback(address)),
        peer(peer_address(address)),
        opened_at(now),
        deadline(now + kRequestLimit) {}

  SlotHandle handle;  // set once it has its slot; what its operations are tagged with
  const int fd;
  const bool from_loopback;
  const PeerAddress peer;
  const Clock::time_point opened_at;
  Phase phase = Phase::kRequest;
  Clock::time_point deadline;  // of the phase
  size_t drained = 0;          // bytes read and dropped after the answer
  http::Parser parser{http::Parser::Kind::kRequest, kLimits};
  std::string input;   // bytes received, not yet parsed
  size_t parsed = 0;   // of `input`, consumed by the parser
  std::string output;  // the whole answer
  size_t sent = 0;
  char chunk[kReceiveChunk];
  OpKind in_flight = OpKind::kIgnore;  // the one operation the kernel holds, if any
  bool closing = false;
  AdminRequest request;
};

AdminServer::AdminServer(Ring& ring, Handler handler) : ring_(ring), handler_(std::move(handler)) {
  holders_.reserve(kMaxSlots);
  holder_slots_.reserve(kMaxSlots);
}

AdminServer::~AdminServer() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string AdminServer::bind(const config::Address& address) {
  std::string why;
  listen_fd_ = open_listening_socket(address, why);
  if (listen_fd_ < 0) return "cannot listen on " + address.to_string() + " (admin): " + why;
  return {};
}

void AdminServer::start() { arm_accept(); }

void AdminServer::arm_accept() {
  if (listen_fd_ < 0 || accept_armed_) return;
  accept_peer_length_ = sizeof(accept_peer_);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_accept(sqe, listen_fd_, reinterpret_cast<sockaddr*>(&accept_peer_),
                       &accept_peer_length_, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::kAdminAccept, 0, 0}.encode());
  accept_armed_ = true;
}

void AdminServer::on_completion(OpTag tag, int result) {
  if (tag.kind == OpKind::kAdminAccept) return on_accept(result);
  Connection* found = connections_.find(tag.slot, tag.generation);
  if (found == nullptr) return;  // stale
  Connection& connection = *found;
  connection.in_flight = OpKind::kIgnore;
  if (connection.closing) return free_if_done(connection);
  if (tag.kind == OpKind::kAdminRecv) return on_receive(connection, result);
  if (tag.kind == OpKind::kAdminSend) return on_send(connection, result);
}

void AdminServer::on_accept(int result) {
  accept_armed_ = false;
  if (listen_fd_ < 0) return;  // shutting down
  if (accept_out_of_resources(result)) {
    LOG_WARN("admin: accept failed: %s; accepting again in %lld ms", std::strerror(-result),
             static_cast<long long>(kAcceptBackoff.count()));
    accept_retry_at_ = Clock::now() + kAcceptBackoff;
    return;  // sweep() re-arms
  }
  if (result < 0) {
    if (result != -ECANCELED) LOG_WARN("admin: accept failed: %s", std::strerror(-result));
    if (result != -ECANCELED) arm_accept();
    return;
  }
  const int fd = result;
  make_room_for(peer_address(accept_peer_));
  if (connections_.size() >= kMaxSlots) {
    LOG_WARN("admin: %zu connections are still closing; closing a new one", kMaxSlots);
    ::close(fd);
    return arm_accept();
  }
  auto [handle, connection] = connections_.emplace(fd, accept_peer_, Clock::now());
  connection.handle = handle;
  arm_receive(handle.slot);
  arm_accept();
}

void AdminServer::make_room_for(const PeerAddress& peer) {
  holders_.clear();
  holder_slots_.clear();
  for (uint32_t slot = 0; slot < connections_.capacity(); ++slot) {
    const Connection* connection = connections_.at(slot);
    if (connection == nullptr || connection->closing) continue;
    holders_.push_back({connection->peer, connection->opened_at});
    holder_slots_.push_back(slot);
  }
  const std::optional<size_t> replaced = admin_slot_to_free(holders_, peer, kSlotLimits);
  if (!replaced) return;
  ++replaced_;
  close(*connections_.at(holder_slots_[*replaced]));
}

void AdminServer::arm_receive(uint32_t slot) {
  Connection& connection = *connections_.at(slot);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, connection.fd, connection.chunk, sizeof(connection.chunk), 0);
  io_uring_sqe_set_data64(sqe,
                          OpTag{OpKind::kAdminRecv, slot, connection.handle.generation}.encode());
  connection.in_flight = OpKind::kAdminRecv;
}

void AdminServer::on_receive(Connection& connection, int result) {
  if (connection.phase == Connection::Phase::kDrain) return on_drained(connection, result);
  if (result <= 0) return close(connection);  // closed or failed before a whole request
  connection.input.append(connection.chunk, static_cast<size_t>(result));
  for (;;) {
    size_t consumed = 0;
    const std::string_view rest = std::string_view(connection.input).substr(connection.parsed);
    const http::ParseEvent event = connection.parser.parse(rest, consumed);
    connection.parsed += consumed;
    switch (event) {
      case http::ParseEvent::kNeedMore:
        return arm_receive(connection.handle.slot);
      case http::ParseEvent::kHead: {
        const http::Head& head = connection.parser.head();
        AdminRequest& request = connection.request;
        request.method = head.method;
        const std::string_view target = head.target;
        const size_t question = target.find('?');
        request.path = target.substr(0, question);
        request.query = question == std::string_view::npos ? "" : target.substr(question + 1);
        request.authorization = head.find("authorization");
        request.host = head.host;
        request.origin = head.find("origin");
        request.fetch_site = head.find("sec-fetch-site");
        request.from_loopback = connection.from_loopback;
        break;
      }
      case http::ParseEvent::kBody:
        connection.request.body.append(connection.parser.body());  // PUT's {"weight": N}
        break;
      case http::ParseEvent::kDone:
        return respond(connection, handler_(connection.request));
      case http::ParseEvent::kError: {
        const http::ParseError& error = connection.parser.error();
        LOG_INFO("admin: %u for a malformed request: %s", error.status, error.reason);
        return respond(connection, {error.status, "application/json",
                                    std::string("{\"error\":\"") + error.reason + "\"}\n"});
      }
    }
  }
}

void AdminServer::respond(Connection& connection, const AdminResponse& response) {
  connection.output = render_answer(response, connection.request.method != "HEAD");
  connection.phase = Connection::Phase::kAnswer;
  connection.deadline = Clock::now() + kAnswerLimit;
  arm_send(connection.handle.slot);
}

void AdminServer::start_draining(Connection& connection, Clock::time_point now) {
  ::shutdown(connection.fd, SHUT_WR);
  connection.phase = Connection::Phase::kDrain;
  connection.deadline = now + kDrainLimit;
  if (connection.in_flight == OpKind::kIgnore) arm_receive(connection.handle.slot);
}

void AdminServer::on_drained(Connection& connection, int result) {
  if (result <= 0) return close(connection);  // the client closed too: nothing is lost
  connection.drained += static_cast<size_t>(result);
  if (connection.drained > kDrainBytes) return close(connection);
  arm_receive(connection.handle.slot);
}

// Called with the request's receive in flight, which then drains.
void AdminServer::time_out_request(Connection& connection, Clock::time_point now) {
  ++timed_out_;
  if (connection.input.empty()) return close(connection);  // nothing asked, nothing to answer
  const std::string answer = render_answer(
      {408, "application/json",
       "{\"error\":\"no whole request within " + std::to_string(kRequestLimit.count()) + " s\"}\n"},
      true);
  // Nothing was sent on this connection yet, so its send buffer is empty and this short answer
  // goes whole without blocking, or the connection is broken anyway.
  (void)::send(connection.fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  start_draining(connection, now);
}

void AdminServer::arm_send(uint32_t slot) {
  Connection& connection = *connections_.at(slot);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_send(sqe, connection.fd, connection.output.data() + connection.sent,
                     connection.output.size() - connection.sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe,
                          OpTag{OpKind::kAdminSend, slot, connection.handle.generation}.encode());
  connection.in_flight = OpKind::kAdminSend;
}

void AdminServer::on_send(Connection& connection, int result) {
  if (result <= 0) return close(connection);
  connection.sent += static_cast<size_t>(result);
  if (connection.sent < connection.output.size()) return arm_send(connection.handle.slot);
  start_draining(connection, Clock::now());
}

void AdminServer::close(Connection& connection) {
  connection.closing = true;
  if (connection.in_flight != OpKind::kIgnore) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(
        sqe,
        OpTag{connection.in_flight, connection.handle.slot, connection.handle.generation}.encode(),
        0);
    io_uring_sqe_set_data64(sqe, OpTag{}.encode());
    return;  // freed when the cancelled operation completes
  }
  free_if_done(connection);
}

void AdminServer::free_if_done(Connection& connection) {
  if (connection.in_flight != OpKind::kIgnore) return;
  ::close(connection.fd);
  connections_.erase(connection.handle.slot);
}

void AdminServer::sweep(Clock::time_point now) {
  if (!accept_armed_ && now >= accept_retry_at_) arm_accept();
  for (uint32_t slot = 0; slot < connections_.capacity(); ++slot) {
    Connection* connection = connections_.at(slot);
    if (connection == nullptr || connection->closing || now < connection->deadline) continue;
    if (connection->phase == Connection::Phase::kRequest) {
      time_out_request(*connection, now);
    } else {
      close(*connection);
    }
  }
  report(now);
}

void AdminServer::report(Clock::time_point now) {
  if (now < next_report_at_ || (replaced_ == 0 && timed_out_ == 0)) return;
  LOG_WARN(
      "admin: %llu connections closed to make room for newer ones (%zu per client address, %zu "
      "in all), %llu without a whole request within %lld s",
      static_cast<unsigned long long>(replaced_), kSlotLimits.per_address, kSlotLimits.total,
      static_cast<unsigned long long>(timed_out_), static_cast<long long>(kRequestLimit.count()));
  replaced_ = 0;
  timed_out_ = 0;
  next_report_at_ = now + kReportInterval;
}

void AdminServer::shutdown(std::chrono::milliseconds limit,
                           const std::function<void(const io_uring_cqe&)>& others) {
  if (accept_armed_) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(sqe, OpTag{OpKind::kAdminAccept, 0, 0}.encode(), 0);
    io_uring_sqe_set_data64(sqe, OpTag{}.encode());
  }
  for (uint32_t slot = 0; slot < connections_.capacity(); ++slot) {
    Connection* connection = connections_.at(slot);
    if (connection != nullptr && !connection->closing) close(*connection);
  }
  const auto busy = [this] { return accept_armed_ || connections_.size() > 0; };
  const Clock::time_point deadline = Clock::now() + limit;
  while (busy() && Clock::now() < deadline) {
    ring_.submit_and_wait(std::chrono::milliseconds(10));
    ring_.for_each_completion([&](const io_uring_cqe& cqe) {
      const OpTag tag = OpTag::decode(cqe.user_data);
      if (tag.kind == OpKind::kAdminAccept) {
        accept_armed_ = false;
        if (cqe.res >= 0) ::close(cqe.res);  // accepted just before the cancel
      } else if (tag.kind == OpKind::kAdminRecv || tag.kind == OpKind::kAdminSend) {
        on_completion(tag, cqe.res);
      } else {
        others(cqe);
      }
    });
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace ringlb
