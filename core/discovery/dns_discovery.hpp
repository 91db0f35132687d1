// Every pool's DNS discovery: when a pool's lookups are due, what a refresh asks (one or two
// rounds of questions), and what it hands on. A failed refresh keeps the last good answer; only
// a successful answer, empty or not, replaces it. Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/discovery/dns_answer.hpp"
#include "core/discovery/dns_resolver.hpp"
#include "core/discovery/dns_schedule.hpp"

namespace ringlb::discovery {

// What /metrics and /status show of one pool's discovery.
struct DnsPoolStatus {
  std::string pool;
  std::string source;  // describe(): "SRV _http._tcp.app" or "app.example:8080"
  uint64_t lookups = 0;
  uint64_t failures = 0;
  size_t backends = 0;  // in the last good answer
  bool failing = false;
  std::optional<std::chrono::system_clock::time_point> last_success;
};

class DnsDiscovery {
 public:
  using Clock = std::chrono::steady_clock;
  // A pool's new set of backends from DNS (only when it differs from the last one handed on),
  // in the form Membership::replace(pool, BackendSource::kDns, ...) takes.
  using Publish =
      std::function<void(const std::string& pool, std::vector<config::BackendConfig> backends)>;

  // `jitter` returns a number in [0, 1) for each schedule (tests pass a fixed one).
  DnsDiscovery(Publish publish, std::function<double()> jitter);
  ~DnsDiscovery();

  // At start and after each reload: a source per pool with [dns]. A pool whose [dns] table is
  // unchanged keeps its source, its last answer and any lookup in flight; the others start
  // over (their first lookup is due at once).
  void configure(const config::Config& config);
  // Starts due lookups and ends those past their timeout. Never blocks.
  void run(Clock::time_point now);
  // The descriptor to poll for readability; then call on_ready().
  int fd() const { return sockets_.fd(); }
  void on_ready() { sockets_.process(); }
  // When run() has work next: a due refresh or a c-ares timeout.
  std::optional<Clock::time_point> next_wakeup(Clock::time_point now) const;

  std::vector<DnsPoolStatus> status() const;

 private:
  class Source;
  Publish publish_;
  std::function<double()> jitter_;
  DnsSockets sockets_;  // declared before sources_: outlives every channel
  std::map<std::string, std::unique_ptr<Source>> sources_;
};

// Whether two [dns] tables ask the same thing of the same resolvers.
bool same_lookup(const config::DnsDiscoveryConfig& a, const config::DnsDiscoveryConfig& b);

}  // namespace ringlb::discovery
