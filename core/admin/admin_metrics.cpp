// GET /metrics: Prometheus text exposition 0.0.4. Every family once, with HELP and TYPE, samples
// grouped under it; labels only from the configuration (listener, pool, backend) and a few
// fixed sets (code_class, state, result), never from requests. Per-worker counters are summed
// here, at scrape time.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "balancers/fingerprint.hpp"
#include "core/admin/admin_api.hpp"
#include "health/check_result.hpp"

namespace ringlb {
namespace {

using ListenerSlot = health::ListenerWorkerStats;
using BackendSlot = health::BackendWorkerStats;

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    current_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // One sample of the current family; `labels` is already formatted ("a=\"b\",c=\"d\"").
  void sample(const std::string& labels, uint64_t value, const char* suffix) {
    out_ += current_;
    out_ += suffix;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void sample(const std::string& labels, double value, const char* suffix = "") {
    out_ += current_;
    out_ += suffix;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    char number[64];
    std::snprintf(number, sizeof(number), " %.15g\n", value);
    out_ += number;
  }
  void sample(const std::string& labels, uint64_t value) {  // counts print exactly
    out_ += current_;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  // The buckets (cumulative), sum and count of the histograms summed over workers.
  template <typename Slot>
  void histogram(const std::string& labels, const health::PerWorker<Slot>& stats,
                 const health::LatencyHistogram Slot::*member) {
    uint64_t cumulative = 0;
    const std::string prefix = labels.empty() ? "" : labels + ",";
    for (size_t bucket = 0; bucket < health::LatencyHistogram::kBuckets; ++bucket) {
      cumulative += stats.sum([&](const Slot& slot) { return (slot.*member).bucket(bucket); });
      char le[32];
      if (bucket < health::kLatencyBoundsUs.size()) {
        std::snprintf(le, sizeof(le), "%g",
                      static_cast<double>(health::kLatencyBoundsUs[bucket]) / 1e6);
      } else {
        std::snprintf(le, sizeof(le), "+Inf");
      }
      sample(prefix + "le=\"" + le + "\"", cumulative, "_bucket");
    }
    const uint64_t sum_us = stats.sum([&](const Slot& slot) { return (slot.*member).sum_us(); });
    sample(labels, static_cast<double>(sum_us) / 1e6, "_sum");
    sample(labels, cumulative, "_count");
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  const char* current_ = "";
};

std::string listener_labels(const Listener& listener) {
  return "listener=\"" + escape_label(listener.config->name) + "\"";
}

std::string backend_labels(const Pool& pool, const health::BackendState& state) {
  return "pool=\"" + escape_label(pool.config->name) + "\",backend=\"" +
         escape_label(state.address()) + "\"";
}

const char* code_class(size_t index) {
  static const char* const kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  return kClasses[index];
}

void listener_families(Exposition& out, const Snapshot& snapshot) {
  struct CounterFamily {
    const char* name;
    const char* help;
    std::function<uint64_t(const ListenerSlot&)> read;
  };
  const CounterFamily counters[] = {
      {"ringlb_connections_accepted_total", "Client connections accepted.",
       [](const ListenerSlot& s) { return s.accepted.get(); }},
      {"ringlb_requests_total", "HTTP requests received (answered or not).",
       [](const ListenerSlot& s) { return s.requests.get(); }},
      {"ringlb_received_bytes_total", "Bytes received from clients (http: bodies and heads).",
       [](const ListenerSlot& s) { return s.bytes_from_client.get(); }},
      {"ringlb_sent_bytes_total", "Bytes sent to clients.",
       [](const ListenerSlot& s) { return s.bytes_to_client.get(); }},
      {"ringlb_spliced_bytes_total",
       "Of the bytes received from and sent to clients, those moved by splice through a kernel "
       "pipe, never copied to user space (tcp listeners, and http response bodies with the L7 "
       "splice lever).",
       [](const ListenerSlot& s) { return s.bytes_spliced.get(); }},
      {"ringlb_retries_total",
       "Attempts on another backend after a failed connect, or on a fresh connection after a "
       "stale pooled one.",
       [](const ListenerSlot& s) { return s.retries.get(); }},
      {"ringlb_tls_handshake_failures_total", "Client TLS handshakes that failed.",
       [](const ListenerSlot& s) { return s.tls_handshake_failures.get(); }},
  };
  for (const CounterFamily& family : counters) {
    out.family(family.name, "counter", family.help);
    for (const Listener& listener : snapshot.listeners) {
      out.sample(listener_labels(listener), listener.stats->sum(family.read));
    }
  }
  out.family("ringlb_responses_total", "counter", "Responses sent to clients, by status class.");
  for (const Listener& listener : snapshot.listeners) {
    for (size_t i = 0; i < health::kStatusClasses; ++i) {
      out.sample(listener_labels(listener) + ",code_class=\"" + code_class(i) + "\"",
                 listener.stats->sum([i](const ListenerSlot& s) { return s.responses[i].get(); }));
    }
  }
  out.family("ringlb_proxy_protocol_refused_total", "counter",
             "Connections closed before a PROXY protocol header was accepted, by reason.");
  for (const Listener& listener : snapshot.listeners) {
    if (!listener.config->proxy_protocol) continue;
    for (size_t i = 0; i < health::kProxyRefusalNames.size(); ++i) {
      out.sample(listener_labels(listener) + ",reason=\"" + health::kProxyRefusalNames[i] + "\"",
                 listener.stats->sum(
                     [i](const ListenerSlot& s) { return s.proxy_protocol_refused[i].get(); }));
    }
  }
  out.family("ringlb_active_connections", "gauge", "Client connections open now.");
  for (const Listener& listener : snapshot.listeners) {
    out.sample(listener_labels(listener), health::active_connections(*listener.stats));
  }
  out.family("ringlb_request_duration_seconds", "histogram",
             "From the first byte of a request to its last byte sent (tcp: connection lifetime).");
  for (const Listener& listener : snapshot.listeners) {
    out.histogram(listener_labels(listener), *listener.stats, &ListenerSlot::request_duration);
  }
}

// One sample per listener and reason: the reasons are a fixed set, so one family with a `reason`
// label, as ringlb_reloads_total has `result`.
struct ReasonCounter {
  const char* reason;
  const health::Counter ListenerSlot::*member;
};

void reason_family(Exposition& out, const Snapshot& snapshot,
                   std::span<const ReasonCounter> reasons) {
  for (const Listener& listener : snapshot.listeners) {
    for (const ReasonCounter& counter : reasons) {
      out.sample(
          listener_labels(listener) + ",reason=\"" + counter.reason + "\"",
          listener.stats->sum([&](const ListenerSlot& s) { return (s.*counter.member).get(); }));
    }
  }
}

// HTTP/2 towards clients (issue 18). Every h2 stream is also one of ringlb_requests_total.
void listener_h2_families(Exposition& out, const Snapshot& snapshot) {
  out.family("ringlb_h2_connections_total", "counter",
             "Client connections that chose HTTP/2 (ALPN h2 or the h2c preface).");
  for (const Listener& listener : snapshot.listeners) {
    out.sample(listener_labels(listener),
               listener.stats->sum([](const ListenerSlot& s) { return s.h2_connections.get(); }));
  }
  out.family("ringlb_h2_active_connections", "gauge", "HTTP/2 client connections open now.");
  for (const Listener& listener : snapshot.listeners) {
    out.sample(listener_labels(listener), h2_active_connections(*listener.stats));
  }
  out.family("ringlb_h2_streams_total", "counter", "HTTP/2 streams opened by clients.");
  for (const Listener& listener : snapshot.listeners) {
    out.sample(listener_labels(listener),
               listener.stats->sum([](const ListenerSlot& s) { return s.h2_streams.get(); }));
  }
  static constexpr ReasonCounter kResets[] = {
      {"client", &ListenerSlot::h2_streams_reset_by_client},
      {"refused", &ListenerSlot::h2_streams_refused},
  };
  out.family("ringlb_h2_streams_reset_total", "counter",
             "HTTP/2 streams ended by RST_STREAM: reset by the client, or refused by ringlb over "
             "max_concurrent_streams.");
  reason_family(out, snapshot, kResets);
  static constexpr ReasonCounter kGoaways[] = {
      {"drain", &ListenerSlot::h2_goaway_drain},
      {"flood", &ListenerSlot::h2_goaway_flood},
      {"protocol", &ListenerSlot::h2_goaway_protocol},
  };
  out.family("ringlb_h2_goaway_sent_total", "counter",
             "GOAWAY frames sent to clients: drain (stop, reload), flood (a flood limit, "
             "ENHANCE_YOUR_CALM), protocol (a protocol error).");
  reason_family(out, snapshot, kGoaways);
}

// Calls fn(pool, backend) for every backend of every pool.
template <typename Fn>
void each_backend(const Snapshot& snapshot, Fn&& fn) {
  for (const auto& pool : snapshot.pools) {
    for (const balancers::BalancedBackend& backend : pool->balancer->backends()) {
      fn(*pool, backend);
    }
  }
}

void backend_counter_families(Exposition& out, const Snapshot& snapshot) {
  struct CounterFamily {
    const char* name;
    const char* help;
    std::function<uint64_t(const BackendSlot&)> read;
  };
  const CounterFamily counters[] = {
      {"ringlb_backend_requests_total", "Requests sent to the backend (tcp: connections made).",
       [](const BackendSlot& s) { return s.requests.get(); }},
      {"ringlb_backend_connect_failures_total", "Connects to the backend that failed or timed out.",
       [](const BackendSlot& s) { return s.connect_failures.get(); }},
      {"ringlb_backend_pooled_discarded_total",
       "Idle pooled connections discarded because the backend closed them or sent bytes on them.",
       [](const BackendSlot& s) { return s.pooled_discarded.get(); }},
      {"ringlb_backend_sent_bytes_total", "Bytes of client data sent toward the backend.",
       [](const BackendSlot& s) { return s.bytes_from_client.get(); }},
      {"ringlb_backend_received_bytes_total", "Bytes from the backend sent toward clients.",
       [](const BackendSlot& s) { return s.bytes_to_client.get(); }},
  };
  for (const CounterFamily& family : counters) {
    out.family(family.name, "counter", family.help);
    each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
      out.sample(backend_labels(pool, *backend.state), backend.state->stats().sum(family.read));
    });
  }
  out.family("ringlb_backend_responses_total", "counter", "Responses from the backend, by class.");
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    for (size_t i = 0; i < health::kStatusClasses; ++i) {
      out.sample(
          backend_labels(pool, *backend.state) + ",code_class=\"" + code_class(i) + "\"",
          backend.state->stats().sum([i](const BackendSlot& s) { return s.responses[i].get(); }));
    }
  });
}

void backend_load_families(Exposition& out, const Snapshot& snapshot) {
  out.family("ringlb_backend_active_connections", "gauge",
             "Open connections (tcp) or requests in flight (http) on the backend.");
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    out.sample(backend_labels(pool, *backend.state), uint64_t{backend.state->active()});
  });
  out.family("ringlb_backend_weight", "gauge", "The backend's weight now (slow start applied).");
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    out.sample(backend_labels(pool, *backend.state),
               backend.weight * backend.state->weight_permille() / 1000.0);
  });
}

// Kinds that share a name (a bad status and a body mismatch are both L7STS) add into one
// sample: a series may appear only once. "pass" is always there.
std::vector<std::pair<std::string_view, uint64_t>> results_by_name(
    const HealthChecker::BackendView& view) {
  std::vector<std::pair<std::string_view, uint64_t>> by_name;
  for (size_t kind = 0; kind < HealthChecker::kResultKinds; ++kind) {
    const auto result_kind = static_cast<health::ResultKind>(kind);
    if (view.checks[kind] == 0 && result_kind != health::ResultKind::kPass) continue;
    const std::string_view name =
        result_kind == health::ResultKind::kPass ? "pass" : health::layer_name(result_kind);
    const auto same = std::find_if(by_name.begin(), by_name.end(),
                                   [name](const auto& entry) { return entry.first == name; });
    if (same == by_name.end()) {
      by_name.emplace_back(name, view.checks[kind]);
    } else {
      same->second += view.checks[kind];
    }
  }
  return by_name;
}

void backend_health_families(Exposition& out, const Snapshot& snapshot,
                             const HealthChecker& health) {
  out.family("ringlb_backend_state", "gauge",
             "1 for the backend's health state now, 0 for the others.");
  static const health::State kStates[] = {health::State::kUnknown, health::State::kUp,
                                          health::State::kDown, health::State::kDraining,
                                          health::State::kEjected};
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    const auto view = health.view(*backend.state);
    const health::State now =
        view ? view->state
             : (backend.state->eligible() ? health::State::kUp : health::State::kDown);
    for (health::State state : kStates) {
      out.sample(
          backend_labels(pool, *backend.state) + ",state=\"" + health::to_string(state) + "\"",
          uint64_t{state == now});
    }
  });
  out.family("ringlb_health_checks_total", "counter",
             "Active health check results, by HAProxy-style result (pass, L4CON, L7STS, ...).");
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    const auto view = health.view(*backend.state);
    if (!view || !view->checked) return;
    for (const auto& [name, count] : results_by_name(*view)) {
      out.sample(backend_labels(pool, *backend.state) + ",result=\"" + std::string(name) + "\"",
                 count);
    }
  });
  out.family("ringlb_passive_ejections_total", "counter",
             "Times passive detection ejected the backend.");
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    const auto view = health.view(*backend.state);
    out.sample(backend_labels(pool, *backend.state), view ? view->ejections : 0);
  });
}

void backend_latency_families(Exposition& out, const Snapshot& snapshot) {
  out.family("ringlb_upstream_connect_seconds", "histogram",
             "From the request (tcp: the connection) to the backend connection being ready.");
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    out.histogram(backend_labels(pool, *backend.state), backend.state->stats(),
                  &BackendSlot::connect_time);
  });
  out.family("ringlb_upstream_response_head_seconds", "histogram",
             "From the request to the backend's response head.");
  each_backend(snapshot, [&](const Pool& pool, const balancers::BalancedBackend& backend) {
    out.histogram(backend_labels(pool, *backend.state), backend.state->stats(),
                  &BackendSlot::response_head_time);
  });
}

void pool_families(Exposition& out, const Snapshot& snapshot, const HealthChecker& health) {
  out.family("ringlb_pool_panic", "gauge",
             "1 while the pool is in panic (too few eligible backends), else 0.");
  for (const auto& pool : snapshot.pools) {
    out.sample("pool=\"" + escape_label(pool->config->name) + "\"",
               uint64_t{health.in_panic(pool->config->name)});
  }
  out.family("ringlb_pool_table_info", "gauge",
             "Always 1; the fingerprint of the pool's sorted backends and weights, the same on "
             "every instance with the same set.");
  for (const auto& pool : snapshot.pools) {
    out.sample("pool=\"" + escape_label(pool->config->name) + "\",fingerprint=\"" +
                   balancers::table_fingerprint(pool->config->backends) + "\"",
               uint64_t{1});
  }
}

void backend_families(Exposition& out, const Snapshot& snapshot, const HealthChecker& health) {
  backend_counter_families(out, snapshot);
  backend_load_families(out, snapshot);
  backend_health_families(out, snapshot, health);
  backend_latency_families(out, snapshot);
  pool_families(out, snapshot, health);
}

// DNS discovery, per pool with [dns]: a failed refresh keeps the last answer, so the failure
// counter and the last success's time are how an operator sees an outage.
void dns_families(Exposition& out, const std::vector<AdminDnsStatus>& dns) {
  const auto label = [](const AdminDnsStatus& pool) {
    return "pool=\"" + escape_label(pool.pool) + "\"";
  };
  out.family("ringlb_dns_lookups_total", "counter", "DNS refreshes started, per pool.");
  for (const AdminDnsStatus& pool : dns) out.sample(label(pool), pool.lookups);
  out.family("ringlb_dns_failures_total", "counter",
             "DNS refreshes that failed (timeout, SERVFAIL, malformed) and kept the last answer.");
  for (const AdminDnsStatus& pool : dns) out.sample(label(pool), pool.failures);
  out.family("ringlb_dns_failing", "gauge", "1 while the pool's last DNS refresh failed.");
  for (const AdminDnsStatus& pool : dns) out.sample(label(pool), uint64_t{pool.failing});
  out.family("ringlb_dns_backends", "gauge", "Backends in the pool's last good DNS answer.");
  for (const AdminDnsStatus& pool : dns) out.sample(label(pool), pool.backends);
  out.family("ringlb_dns_last_success_timestamp_seconds", "gauge",
             "When the pool's DNS last answered (Unix time); absent before its first answer.");
  for (const AdminDnsStatus& pool : dns) {
    if (!pool.last_success) continue;
    out.sample(label(pool),
               std::chrono::duration<double>(pool.last_success->time_since_epoch()).count());
  }
}

}  // namespace

std::string render_metrics(const Snapshot& snapshot, const HealthChecker& health,
                           const AdminInfo& info) {
  Exposition out;
  listener_families(out, snapshot);
  listener_h2_families(out, snapshot);
  backend_families(out, snapshot, health);
  out.family("ringlb_reloads_total", "counter", "Configuration reloads (SIGHUP), by result.");
  out.sample("result=\"ok\"", info.reloads);
  out.sample("result=\"failed\"", info.reloads_failed);
  out.family("ringlb_config_loaded_timestamp_seconds", "gauge",
             "When the running configuration was loaded (Unix time).");
  out.sample("", std::chrono::duration<double>(info.loaded_at.time_since_epoch()).count());
  out.family("ringlb_stopping", "gauge", "1 once a stop signal arrived (draining).");
  out.sample("", uint64_t{info.stopping});
  if (!info.dns.empty()) dns_families(out, info.dns);
  return out.take();
}

}  // namespace ringlb
