// c-ares on the control thread, without threads and without blocking (see dns_resolver.hpp).
// c-ares 1.18 (Debian 12): ares_query, ares_process_fd, ares_timeout, ARES_OPT_SOCK_STATE_CB and
// ares_set_servers_ports_csv all exist there.
#include "core/discovery/dns_resolver.hpp"

#include <ares.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <span>

namespace ringlb::discovery {
namespace {

constexpr int kDnsClassIn = 1;

// One lookup's callback, owned by c-ares between ares_query and on_reply.
struct Pending {
  DnsChannel::Done done;
  DnsChannel* channel;
};

DnsResult classify(int status, const unsigned char* wire, int length) {
  DnsResult result;
  if (status == ARES_ENODATA || status == ARES_ENOTFOUND) {
    result.kind = DnsResult::Kind::kEmpty;
    return result;
  }
  if (status != ARES_SUCCESS) {
    result.error = ares_strerror(status);
    return result;
  }
  std::string error;
  std::optional<DnsMessage> message =
      parse_dns_message(std::span<const uint8_t>(wire, static_cast<size_t>(length)), error);
  if (!message) {
    result.error = "malformed reply: " + error;
    return result;
  }
  result.kind = DnsResult::Kind::kRecords;
  result.message = std::move(*message);
  return result;
}

}  // namespace

DnsSockets::DnsSockets() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}

DnsSockets::~DnsSockets() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void DnsSockets::watch(int socket, bool readable, bool writable, DnsChannel* owner) {
  if (!readable && !writable) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, socket, nullptr);
    owners_.erase(socket);
    return;
  }
  epoll_event event{};
  event.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  event.data.fd = socket;
  const bool known = owners_.contains(socket);
  owners_[socket] = owner;
  epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, socket, &event);
}

void DnsSockets::process() {
  epoll_event events[32];
  const int ready = epoll_wait(epoll_fd_, events, 32, 0);
  for (int i = 0; i < ready; ++i) {
    // Looked up again for each event: processing one socket may have closed another.
    auto owner = owners_.find(events[i].data.fd);
    if (owner == owners_.end()) continue;
    const bool readable = (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
    const bool writable = (events[i].events & (EPOLLOUT | EPOLLERR)) != 0;
    owner->second->process(events[i].data.fd, readable, writable);
  }
}

std::unique_ptr<DnsChannel> DnsChannel::open(const config::DnsDiscoveryConfig& dns,
                                             DnsSockets& sockets, std::string& error) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) {
    error = std::string("c-ares: ") + ares_strerror(library);
    return nullptr;
  }
  std::unique_ptr<DnsChannel> channel(new DnsChannel(sockets));
  ares_options options{};
  options.timeout = static_cast<int>(dns.timeout.count());  // milliseconds with TIMEOUTMS
  options.tries = 1;
  options.sock_state_cb = [](void* data, ares_socket_t socket, int readable, int writable) {
    auto* self = static_cast<DnsChannel*>(data);
    self->sockets_.watch(socket, readable != 0, writable != 0, self);
  };
  options.sock_state_cb_data = channel.get();
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  if (int status = ares_init_options(&channel->channel_, &options, mask); status != ARES_SUCCESS) {
    error = std::string("c-ares: ") + ares_strerror(status);
    return nullptr;
  }
  const std::string servers = resolver_list(dns);
  if (!servers.empty()) {
    if (int status = ares_set_servers_ports_csv(channel->channel_, servers.c_str());
        status != ARES_SUCCESS) {
      error = "c-ares refused the resolvers " + servers + ": " + ares_strerror(status);
      return nullptr;  // the destructor destroys the channel
    }
  }
  return channel;
}

DnsChannel::~DnsChannel() {
  if (channel_ == nullptr) return;
  closing_ = true;  // on_reply drops the ARES_EDESTRUCTION replies ares_destroy delivers
  ares_destroy(channel_);
}

void DnsChannel::ask(const DnsQuestion& question, Done done) {
  ++in_flight_;
  ares_query(channel_, question.name.c_str(), kDnsClassIn, question.type, on_reply,
             new Pending{std::move(done), this});
}

void DnsChannel::on_reply(void* arg, int status, int /*timeouts*/, unsigned char* wire,
                          int length) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(arg));
  DnsChannel& self = *pending->channel;
  --self.in_flight_;
  if (self.closing_ || status == ARES_EDESTRUCTION) return;
  pending->done(classify(status, wire, length));
}

void DnsChannel::process(int socket, bool readable, bool writable) {
  ares_process_fd(channel_, readable ? socket : ARES_SOCKET_BAD,
                  writable ? socket : ARES_SOCKET_BAD);
}

void DnsChannel::process_timeouts() {
  if (in_flight_ > 0) ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

std::optional<DnsChannel::Clock::duration> DnsChannel::next_timeout() const {
  if (in_flight_ == 0) return std::nullopt;
  timeval wait{};
  if (ares_timeout(channel_, nullptr, &wait) == nullptr) return std::nullopt;
  return std::chrono::seconds(wait.tv_sec) + std::chrono::microseconds(wait.tv_usec);
}

}  // namespace ringlb::discovery
