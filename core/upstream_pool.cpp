// UpstreamPool: the newest connection is reused first (the least likely to have been closed by
// the backend meanwhile); the oldest expire first. Whether an idle connection is still clean is
// asked when it is taken, with one non-blocking peek, rather than by a receive armed on every
// idle connection: nothing is in flight on an idle connection, and the cost is one syscall per
// reuse, paid only when a connection is reused (README "Pooled upstream connections").
#include "core/upstream_pool.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/log.hpp"

namespace ringlb {
namespace {

// Why an idle connection must not carry the next request, or nullptr when it may. The backend
// owes nothing on an idle connection: any byte there (a late or unsolicited response, a 408, a
// TLS alert or close_notify) would be read as the next request's response, and a FIN or error
// means the request would be lost. For a TLS connection any readable byte disqualifies it too,
// even a post-handshake message: telling a ticket from an alert would mean decrypting here.
const char* why_not_reusable(int fd) {
  char byte;
  const ssize_t peeked = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (peeked > 0) return "the backend sent bytes on it while it was idle";
  if (peeked == 0) return "the backend closed it while it was idle";
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return nullptr;
  return "it failed while idle";
}

}  // namespace

UpstreamPool::~UpstreamPool() {
  for (auto& [key, backend] : backends_) {
    for (const Idle& idle : backend.idle) close(idle.fd);
  }
}

int UpstreamPool::take(const health::BackendState& state, Clock::time_point now, uint32_t worker,
                       std::unique_ptr<TlsChannel>* tls) {
  auto it = backends_.find(&state);
  if (it == backends_.end()) return -1;
  std::vector<Idle>& idle = it->second.idle;
  int fd = -1;
  while (fd < 0 && !idle.empty()) {
    Idle newest = std::move(idle.back());
    idle.pop_back();
    if (!(now < newest.expires)) {
      close(newest.fd);
      continue;
    }
    if (const char* why = why_not_reusable(newest.fd)) {
      LOG_DEBUG("pooled connection to %s discarded: %s", state.address().c_str(), why);
      it->second.state->stats(worker).pooled_discarded.add();
      close(newest.fd);
      continue;  // its TLS channel, if any, goes with `newest`
    }
    fd = newest.fd;
    if (tls != nullptr) *tls = std::move(newest.tls);
  }
  // The entry stays even when empty, so the next put() allocates nothing; the sweep drops it.
  return fd;
}

void UpstreamPool::put(std::shared_ptr<health::BackendState> state, int fd,
                       Clock::time_point expires, std::unique_ptr<TlsChannel> tls) {
  Backend& backend = backends_[state.get()];
  if (!backend.state) backend.state = std::move(state);
  if (backend.idle.size() >= kMaxIdlePerBackend) {
    close(backend.idle.front().fd);
    backend.idle.erase(backend.idle.begin());
  }
  backend.idle.push_back({fd, expires, std::move(tls)});
}

void UpstreamPool::close_expired(Clock::time_point now) {
  for (auto it = backends_.begin(); it != backends_.end();) {
    std::vector<Idle>& idle = it->second.idle;
    auto fresh = std::find_if(idle.begin(), idle.end(),
                              [&](const Idle& entry) { return now < entry.expires; });
    for (auto expired = idle.begin(); expired != fresh; ++expired) close(expired->fd);
    idle.erase(idle.begin(), fresh);
    it = idle.empty() ? backends_.erase(it) : std::next(it);
  }
}

size_t UpstreamPool::idle_count() const {
  size_t count = 0;
  for (const auto& [key, backend] : backends_) count += backend.idle.size();
  return count;
}

}  // namespace ringlb
