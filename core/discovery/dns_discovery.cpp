// One source per pool with [dns]: a refresh asks the first questions (A+AAAA of a name, or the
// SRV records), then, for SRV, the addresses of targets the additional section did not carry.
// Any failed question fails the refresh, which keeps the last answer (see dns_discovery.hpp).
#include "core/discovery/dns_discovery.hpp"

#include "core/base/log.hpp"
#include "core/discovery/dns_plan.hpp"

namespace ringlb::discovery {

class DnsDiscovery::Source {
 public:
  Source(std::string pool, config::DnsDiscoveryConfig dns, std::unique_ptr<DnsChannel> channel,
         DnsDiscovery& owner)
      : pool_(std::move(pool)),
        dns_(std::move(dns)),
        owner_(owner),
        schedule_(dns_.refresh),
        channel_(std::move(channel)) {}

  const config::DnsDiscoveryConfig& dns() const { return dns_; }

  void run(Clock::time_point now) {
    channel_->process_timeouts();
    if (schedule_.due(now)) start();
  }

  std::optional<Clock::time_point> next_wakeup(Clock::time_point now) const {
    std::optional<Clock::time_point> at = schedule_.next_at();
    if (std::optional<Clock::duration> timeout = channel_->next_timeout()) {
      at = at ? std::min(*at, now + *timeout) : now + *timeout;
    }
    return at;
  }

  DnsPoolStatus status() const {
    return {pool_,          describe(dns_),      lookups_,     failures_,
            answer_.size(), schedule_.failing(), last_success_};
  }

 private:
  struct Round {
    uint64_t id = 0;
    int pending = 0;
    bool targets_asked = false;
    std::string error;  // set when a question failed
    std::vector<DnsRecord> srv;
    std::vector<DnsRecord> addresses;
  };

  void start() {
    schedule_.started();
    ++lookups_;
    const uint64_t id = round_.id + 1;
    round_ = Round{};
    round_.id = id;
    ask(first_questions(dns_));
  }

  // Counts every question before asking any: c-ares may answer one from inside ares_query.
  void ask(const std::vector<DnsQuestion>& questions) {
    round_.pending += static_cast<int>(questions.size());
    const uint64_t id = round_.id;
    for (const DnsQuestion& question : questions) {
      channel_->ask(question, [this, id](DnsResult result) { on_result(id, std::move(result)); });
    }
  }

  void on_result(uint64_t id, DnsResult result) {
    if (id != round_.id) return;
    --round_.pending;
    if (result.kind == DnsResult::Kind::kFailed) {
      round_.error = result.error;
    } else if (result.kind == DnsResult::Kind::kRecords) {
      for (DnsRecord& record : result.message.answers) {
        (record.type == kDnsTypeSrv ? round_.srv : round_.addresses).push_back(std::move(record));
      }
      for (DnsRecord& record : result.message.additionals) {
        if (record.type != kDnsTypeSrv) round_.addresses.push_back(std::move(record));
      }
    }
    if (round_.pending > 0) return;
    if (!round_.error.empty()) return fail();
    if (!dns_.srv.empty() && !round_.targets_asked) return ask_targets();
    succeed();
  }

  // The SRV answer is in: ask for the targets the additional section left out.
  void ask_targets() {
    round_.targets_asked = true;
    round_.srv = preferred_srv(round_.srv);
    std::vector<std::string> targets = unresolved_targets(round_.srv, round_.addresses);
    if (targets.size() > kMaxDnsBackends) targets.resize(kMaxDnsBackends);
    if (targets.empty()) return succeed();
    std::vector<DnsQuestion> questions;
    for (const std::string& target : targets) {
      for (DnsQuestion& question : address_questions(target)) questions.push_back(question);
    }
    ask(questions);
  }

  void fail() {
    ++failures_;
    if (schedule_.failed(Clock::now(), owner_.jitter_())) {
      LOG_WARN(
          "dns: pool %s: lookup of %s failed (%s); keeping the last %zu backend(s); logged once "
          "per outage, counted in ringlb_dns_failures_total",
          pool_.c_str(), describe(dns_).c_str(), round_.error.c_str(), answer_.size());
    }
  }

  void succeed() {
    DnsBackends found = dns_.srv.empty() ? backends_from_addresses(round_.addresses, dns_.port)
                                         : backends_from_srv(round_.srv, round_.addresses);
    if (schedule_.succeeded(Clock::now(), found.ttl, owner_.jitter_())) {
      LOG_INFO("dns: pool %s: %s answers again", pool_.c_str(), describe(dns_).c_str());
    }
    last_success_ = std::chrono::system_clock::now();
    if (has_answer_ && found.backends == answer_) return;
    if (found.dropped > 0) {
      LOG_WARN("dns: pool %s: %zu address(es) of %s left out (0.0.0.0, ::, port 0, or over %zu)",
               pool_.c_str(), found.dropped, describe(dns_).c_str(), kMaxDnsBackends);
    }
    LOG_INFO("dns: pool %s: %s gives %zu backend(s), was %zu", pool_.c_str(),
             describe(dns_).c_str(), found.backends.size(), answer_.size());
    answer_ = std::move(found.backends);
    has_answer_ = true;
    owner_.publish_(pool_, backend_configs(answer_, dns_));
  }

  const std::string pool_;
  const config::DnsDiscoveryConfig dns_;
  DnsDiscovery& owner_;
  RefreshSchedule schedule_;
  Round round_;
  std::vector<DnsBackend> answer_;
  bool has_answer_ = false;
  uint64_t lookups_ = 0;
  uint64_t failures_ = 0;
  std::optional<std::chrono::system_clock::time_point> last_success_;
  // Last, so destroyed first: ~DnsChannel drops the replies still in flight, and no callback
  // capturing this Source runs after it is gone.
  std::unique_ptr<DnsChannel> channel_;
};

DnsDiscovery::DnsDiscovery(Publish publish, std::function<double()> jitter)
    : publish_(std::move(publish)), jitter_(std::move(jitter)) {}

DnsDiscovery::~DnsDiscovery() = default;

bool same_lookup(const config::DnsDiscoveryConfig& a, const config::DnsDiscoveryConfig& b) {
  return a.name == b.name && a.srv == b.srv && a.port == b.port && a.refresh == b.refresh &&
         a.timeout == b.timeout && a.resolvers == b.resolvers;
}

void DnsDiscovery::configure(const config::Config& config) {
  std::map<std::string, std::unique_ptr<Source>> kept;
  for (const config::PoolConfig& pool : config.pools) {
    if (!pool.dns) continue;
    auto existing = sources_.find(pool.name);
    if (existing != sources_.end() && same_lookup(existing->second->dns(), *pool.dns)) {
      kept[pool.name] = std::move(existing->second);
      continue;
    }
    std::string error;
    std::unique_ptr<DnsChannel> channel = DnsChannel::open(*pool.dns, sockets_, error);
    if (!channel) {
      LOG_ERROR("dns: pool %s: cannot start DNS discovery: %s", pool.name.c_str(), error.c_str());
      continue;
    }
    kept[pool.name] = std::make_unique<Source>(pool.name, *pool.dns, std::move(channel), *this);
  }
  sources_ = std::move(kept);  // the sources of removed or changed tables end here
}

void DnsDiscovery::run(Clock::time_point now) {
  for (auto& [name, source] : sources_) source->run(now);
}

std::optional<DnsDiscovery::Clock::time_point> DnsDiscovery::next_wakeup(
    Clock::time_point now) const {
  std::optional<Clock::time_point> earliest;
  for (const auto& [name, source] : sources_) {
    std::optional<Clock::time_point> at = source->next_wakeup(now);
    if (at && (!earliest || *at < *earliest)) earliest = at;
  }
  return earliest;
}

std::vector<DnsPoolStatus> DnsDiscovery::status() const {
  std::vector<DnsPoolStatus> out;
  for (const auto& [name, source] : sources_) out.push_back(source->status());
  return out;
}

}  // namespace ringlb::discovery
