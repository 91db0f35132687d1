// IdleUpstreams: the newest connection is reused first (the least likely to have been closed by
// the backend meanwhile); the oldest expire first.
#include "core/proxy/idle_upstreams.hpp"

#include <unistd.h>

#include <algorithm>

namespace ringlb {

IdleUpstreams::~IdleUpstreams() {
  for (auto& [key, backend] : backends_) {
    for (const Idle& idle : backend.idle) close(idle.fd);
  }
}

int IdleUpstreams::take(const health::BackendState& state, Clock::time_point now, TlsStream* tls) {
  auto it = backends_.find(&state);
  if (it == backends_.end()) return -1;
  std::vector<Idle>& idle = it->second.idle;
  int fd = -1;
  while (fd < 0 && !idle.empty()) {
    Idle newest = std::move(idle.back());
    idle.pop_back();
    if (now < newest.expires) {
      fd = newest.fd;
      if (tls != nullptr) *tls = std::move(newest.tls);
    } else {
      close(newest.fd);
    }
  }
  // The entry stays even when empty, so the next put() allocates nothing; the sweep drops it.
  return fd;
}

void IdleUpstreams::put(std::shared_ptr<health::BackendState> state, int fd,
                        Clock::time_point expires, TlsStream tls) {
  Backend& backend = backends_[state.get()];
  if (!backend.state) backend.state = std::move(state);
  if (backend.idle.size() >= kMaxIdlePerBackend) {
    close(backend.idle.front().fd);
    backend.idle.erase(backend.idle.begin());
  }
  backend.idle.push_back({fd, expires, std::move(tls)});
}

void IdleUpstreams::close_expired(Clock::time_point now) {
  for (auto it = backends_.begin(); it != backends_.end();) {
    std::vector<Idle>& idle = it->second.idle;
    auto fresh = std::find_if(idle.begin(), idle.end(),
                              [&](const Idle& entry) { return now < entry.expires; });
    for (auto expired = idle.begin(); expired != fresh; ++expired) close(expired->fd);
    idle.erase(idle.begin(), fresh);
    it = idle.empty() ? backends_.erase(it) : std::next(it);
  }
}

IdleUpstreams::Purge IdleUpstreams::close_idle(const health::BackendState& state) {
  Purge purge{0, std::find(purged_.begin(), purged_.end(), &state) == purged_.end()};
  if (purge.first) purged_.push_back(&state);
  auto it = backends_.find(&state);
  if (it == backends_.end()) return purge;
  for (const Idle& idle : it->second.idle) close(idle.fd);
  purge.closed = it->second.idle.size();
  it->second.idle.clear();
  return purge;
}

size_t IdleUpstreams::idle_count() const {
  size_t count = 0;
  for (const auto& [key, backend] : backends_) count += backend.idle.size();
  return count;
}

}  // namespace ringlb
