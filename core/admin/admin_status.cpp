// GET /status: the running configuration and every backend's state and counters as JSON, for
// operators, scripts and the dashboard. The schema is documented in docs/admin.md.
#include <ctime>
#include <nlohmann/json.hpp>

#include "balancers/fingerprint.hpp"
#include "core/admin/admin_api.hpp"
#include "health/check_result.hpp"

namespace ringlb {
namespace {

// Keys in the order written: the output reads top-down like the configuration.
using json = nlohmann::ordered_json;

std::string iso8601(std::chrono::system_clock::time_point at) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

template <typename Stats>
json responses_by_class(const health::PerWorker<Stats>& stats) {
  json classes = json::object();
  for (size_t i = 0; i < health::kStatusClasses; ++i) {
    classes[std::to_string(i + 1) + "xx"] =
        stats.sum([i](const Stats& slot) { return slot.responses[i].get(); });
  }
  return classes;
}

// Zeros on a listener without proxy_protocol.
json proxy_refusals(const health::ListenerStats& stats) {
  json reasons = json::object();
  for (size_t i = 0; i < health::kProxyRefusalNames.size(); ++i) {
    reasons[health::kProxyRefusalNames[i]] = stats.sum(
        [i](const health::ListenerWorkerStats& s) { return s.proxy_protocol_refused[i].get(); });
  }
  return reasons;
}

json listener_json(const Listener& listener) {
  const health::ListenerStats& stats = *listener.stats;
  using Slot = health::ListenerWorkerStats;
  return {
      {"name", listener.config->name},
      {"address", listener.config->bind.to_string()},
      {"protocol", listener.config->protocol == config::Protocol::kTcp ? "tcp" : "http"},
      {"tls", listener.tls != nullptr},
      {"pool", listener.config->pool},
      {"active_connections", health::active_connections(stats)},
      {"connections_total", stats.sum([](const Slot& s) { return s.accepted.get(); })},
      {"requests_total", stats.sum([](const Slot& s) { return s.requests.get(); })},
      {"responses", responses_by_class(stats)},
      {"bytes_in", stats.sum([](const Slot& s) { return s.bytes_from_client.get(); })},
      {"bytes_out", stats.sum([](const Slot& s) { return s.bytes_to_client.get(); })},
      {"proxy_protocol_refused", proxy_refusals(stats)},
      {"retries_total", stats.sum([](const Slot& s) { return s.retries.get(); })},
      {"h2_connections", stats.sum([](const Slot& s) { return s.h2_connections.get(); })},
      {"h2_active", h2_active_connections(stats)},
      {"h2_streams", stats.sum([](const Slot& s) { return s.h2_streams.get(); })},
      {"h2_streams_reset",
       {{"client", stats.sum([](const Slot& s) { return s.h2_streams_reset_by_client.get(); })},
        {"refused", stats.sum([](const Slot& s) { return s.h2_streams_refused.get(); })}}},
      {"h2_goaway_sent",
       {{"drain", stats.sum([](const Slot& s) { return s.h2_goaway_drain.get(); })},
        {"flood", stats.sum([](const Slot& s) { return s.h2_goaway_flood.get(); })},
        {"protocol", stats.sum([](const Slot& s) { return s.h2_goaway_protocol.get(); })}}},
  };
}

json last_check_json(const HealthChecker::BackendView& view) {
  if (!view.last_result) return nullptr;
  const health::CheckResult& result = *view.last_result;
  json check = {
      {"result", result.passed() ? "pass" : health::layer_name(result.kind)},
      {"description", health::describe(result)},
      {"latency_ms", static_cast<double>(view.last_latency.count()) / 1000.0},
  };
  if (result.status != 0) check["status"] = result.status;
  return check;
}

json backend_json(const balancers::BalancedBackend& backend, const HealthChecker& health,
                  HealthChecker::TimePoint now) {
  const health::BackendState& state = *backend.state;
  using Slot = health::BackendWorkerStats;
  const auto& stats = state.stats();
  json out = {
      {"address", state.address()},
      {"weight", backend.weight},
      {"effective_weight", static_cast<double>(backend.weight) * state.weight_permille() / 1000.0},
      {"eligible", state.eligible()},
      {"draining", state.draining()},
      {"active_connections", state.active()},
      {"requests_total", stats.sum([](const Slot& s) { return s.requests.get(); })},
      {"responses", responses_by_class(stats)},
      {"connect_failures_total", stats.sum([](const Slot& s) { return s.connect_failures.get(); })},
      {"bytes_in", stats.sum([](const Slot& s) { return s.bytes_from_client.get(); })},
      {"bytes_out", stats.sum([](const Slot& s) { return s.bytes_to_client.get(); })},
  };
  if (std::optional<HealthChecker::BackendView> view = health.view(state)) {
    out["state"] = health::to_string(view->state);
    out["reason"] = view->reason;
    out["seconds_in_state"] = std::chrono::duration<double>(now - view->since).count();
    out["checked"] = view->checked;
    out["last_check"] = last_check_json(*view);
    out["passive_ejections_total"] = view->ejections;
  } else {
    out["state"] = state.eligible() ? "up" : "down";
    out["reason"] = "";
    out["seconds_in_state"] = nullptr;
    out["checked"] = false;
    out["last_check"] = nullptr;
    out["passive_ejections_total"] = 0;
  }
  return out;
}

json pool_json(const Pool& pool, const HealthChecker& health, HealthChecker::TimePoint now) {
  const config::PoolConfig& config = *pool.config;
  json out = {
      {"name", config.name},
      {"algorithm", config.balance},
      {"panic", health.in_panic(config.name)},
      {"panic_mode", config::word(config.panic)},
      {"panic_threshold_percent", config.panic_threshold_percent},
      {"health_check",
       config::word(config.health ? config.health->check : config::ProbeKind::kNone)},
      {"tls", pool.tls != nullptr},
      // The same on every instance with the same backends and weights (a fleet check).
      {"table_fingerprint", balancers::table_fingerprint(config.backends)},
  };
  if (config.balance == "consistent_hash") {
    out["hash_method"] = config.hash_method;
    out["hash_key"] = config.hash_key;
  }
  json backends = json::array();
  for (const balancers::BalancedBackend& backend : pool.balancer->backends()) {
    backends.push_back(backend_json(backend, health, now));
  }
  out["backends"] = std::move(backends);
  return out;
}

json dns_json(const std::vector<AdminDnsStatus>& dns) {
  json out = json::array();
  for (const AdminDnsStatus& pool : dns) {
    out.push_back(
        {{"pool", pool.pool},
         {"source", pool.source},
         {"lookups", pool.lookups},
         {"failures", pool.failures},
         {"failing", pool.failing},
         {"backends", pool.backends},
         {"last_success", pool.last_success ? json(iso8601(*pool.last_success)) : json()}});
  }
  return out;
}

}  // namespace

std::string render_status(const Snapshot& snapshot, const HealthChecker& health,
                          const AdminInfo& info) {
  const auto now = HealthChecker::Clock::now();
  json listeners = json::array();
  for (const Listener& listener : snapshot.listeners) listeners.push_back(listener_json(listener));
  json pools = json::array();
  for (const auto& pool : snapshot.pools) pools.push_back(pool_json(*pool, health, now));
  const json status = {
      {"version", RINGLB_VERSION},
      {"started_at", iso8601(info.started_at)},
      {"uptime_seconds",
       std::chrono::duration<double>(std::chrono::system_clock::now() - info.started_at).count()},
      {"stopping", info.stopping},
      {"workers", snapshot.workers},
      {"config",
       {{"file", info.config_path},
        {"loaded_at", iso8601(info.loaded_at)},
        {"generation", snapshot.generation},
        {"reloads", info.reloads},
        {"reloads_failed", info.reloads_failed}}},
      {"listeners", std::move(listeners)},
      {"pools", std::move(pools)},
      {"dns", dns_json(info.dns)},
  };
  // Invalid UTF-8 (a config path in another encoding) is replaced, never thrown.
  return status.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace ringlb
