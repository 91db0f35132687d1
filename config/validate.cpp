// The checks that need the whole configuration: references to pools, listeners that would fight
// over a port, and settings that only make sense together.
#include "config/validate.hpp"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string_view>
#include <tuple>

#include "config/suggest.hpp"
#include "config/units.hpp"

namespace ringlb::config {
namespace {

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string indexed(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string line_note(SourcePosition at) { return "(line " + std::to_string(at.line) + ")"; }

std::string format_duration(Duration duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
  return std::to_string(duration.count()) + "ms";
}

std::vector<std::string> pool_names(const Config& config) {
  std::vector<std::string> names;
  for (const PoolConfig& pool : config.pools) names.push_back(pool.name);
  return names;
}

void check_pool_reference(const Config& config, const std::string& pool, SourcePosition at,
                          Reporter& report) {
  if (pool.empty() || config.find_pool(pool) != nullptr) return;
  report.error(at, "unknown pool '" + pool + "'" + did_you_mean(pool, pool_names(config)));
}

void check_listener(const Config& config, const ListenerConfig& listener, const SourceMap& sources,
                    Reporter& report) {
  std::string path = "listeners." + listener.name;
  check_pool_reference(config, listener.pool,
                       position_of(sources, path + ".pool", listener.position), report);
  for (size_t i = 0; i < listener.routes.size(); ++i) {
    const Route& route = listener.routes[i];
    check_pool_reference(
        config, route.pool,
        position_of(sources, indexed(path + ".routes", i) + ".pool", route.position), report);
  }
  if (listener.protocol == Protocol::kTcp && !listener.routes.empty()) {
    report.error(position_of(sources, path + ".routes", listener.position),
                 "routes need HTTP, but listener '" + listener.name +
                     "' has protocol = \"tcp\"; remove the routes or use protocol = \"http\"");
  }
  if (listener.protocol == Protocol::kTcp && sources.contains(path + ".http2")) {
    report.error(position_of(sources, path + ".http2", listener.position),
                 "http2 needs HTTP, but listener '" + listener.name +
                     "' has protocol = \"tcp\"; remove [" + path +
                     ".http2] or use protocol = \"http\"");
  }
  if (listener.protocol == Protocol::kTcp && listener.limits.underscores_in_headers) {
    report.error(position_of(sources, path + ".limits.underscores_in_headers", listener.position),
                 "underscores_in_headers needs HTTP, but listener '" + listener.name +
                     "' has protocol = \"tcp\"; remove it or use protocol = \"http\"");
  }
}

// An IPv4-mapped IPv6 address ("::ffff:192.0.2.1"): IPv4 clients of that address, which only
// a dual-stack socket can take (the kernel refuses the bind with IPV6_V6ONLY).
bool is_ipv4_mapped(const Address& bind) {
  return bind.ipv6 && bind.host.starts_with("::ffff:") && bind.host.find('.') != std::string::npos;
}

// The IPv4 address a bind takes clients of: itself, "0.0.0.0" for a dual-stack "[::]" (every
// address), the mapped address of "[::ffff:a.b.c.d]"; empty when it takes no IPv4 client.
std::string ipv4_taken(const Address& bind, bool v6only) {
  if (!bind.ipv6) return bind.host;
  if (v6only) return {};
  if (bind.host == "::") return "0.0.0.0";
  return is_ipv4_mapped(bind) ? bind.host.substr(7) : std::string();
}

std::string ipv6_taken(const Address& bind) {
  return bind.ipv6 && !is_ipv4_mapped(bind) ? bind.host : std::string();
}

bool hosts_overlap(const std::string& a, const std::string& b, const char* every_address) {
  return !a.empty() && !b.empty() && (a == b || a == every_address || b == every_address);
}

// Two sockets cannot both bind these: the same port, and, in one address family, the same
// address or a wildcard that covers the other. "[::]" is dual-stack unless v6only (the default
// is set explicitly on every socket, whatever net.ipv6.bindv6only says), so it takes the port
// for IPv4 too.
bool binds_conflict(const Address& a, bool a_v6only, const Address& b, bool b_v6only) {
  if (a.port == 0 || a.port != b.port) return false;
  return hosts_overlap(ipv4_taken(a, a_v6only), ipv4_taken(b, b_v6only), "0.0.0.0") ||
         hosts_overlap(ipv6_taken(a), ipv6_taken(b), "::");
}

std::string conflict_message(const Address& mine, const ListenerConfig& other) {
  std::string note = line_note(other.position);
  if (mine == other.bind) {
    return mine.to_string() + " is already the bind address of listener '" + other.name + "' " +
           note;
  }
  std::string why = ": same port, and one of them listens on every address";
  if (mine.ipv6 != other.bind.ipv6) {
    why = ": same port, and an IPv6 bind without v6only = true takes IPv4 clients too";
  }
  return mine.to_string() + " conflicts with listener '" + other.name + "' on " +
         other.bind.to_string() + " " + note + why;
}

void check_bind_conflicts(const Config& config, const SourceMap& sources, Reporter& report) {
  const std::vector<ListenerConfig>& listeners = config.listeners;
  for (size_t i = 0; i < listeners.size(); ++i) {
    const ListenerConfig& mine = listeners[i];
    auto other = std::find_if(listeners.begin(), listeners.begin() + static_cast<long>(i),
                              [&](const ListenerConfig& l) {
                                return binds_conflict(mine.bind, mine.v6only, l.bind, l.v6only);
                              });
    if (other == listeners.begin() + static_cast<long>(i)) continue;
    SourcePosition at = position_of(sources, "listeners." + mine.name + ".bind", mine.position);
    report.error(at, "listener '" + mine.name + "': " + conflict_message(mine.bind, *other));
  }
}

void check_admin_conflicts(const Config& config, const SourceMap& sources, Reporter& report) {
  if (!config.admin.listen) return;
  if (!config.admin.listen->is_loopback() && config.admin.token.empty()) {
    report.warning(position_of(sources, "admin.listen", {}),
                   "admin.listen " + config.admin.listen->to_string() +
                       " is not a loopback address and admin.token is empty: anyone who reaches "
                       "it can read /status and /metrics, and every POST is refused until a "
                       "token is set");
  }
  for (const ListenerConfig& listener : config.listeners) {
    // The admin socket has no v6only option: an IPv6 admin.listen is dual-stack too.
    if (!binds_conflict(*config.admin.listen, false, listener.bind, listener.v6only)) continue;
    report.error(position_of(sources, "admin.listen", {}),
                 "admin.listen: " + conflict_message(*config.admin.listen, listener));
    return;
  }
}

// RFC 9110 §11.2 token68: what a client can put after "Bearer " at all. A token with a space, a
// control character or anything else outside this set could never be sent, so every request
// would get 401.
bool is_token68(std::string_view token) {
  const size_t end = token.find_last_not_of('=') + 1;  // trailing '=' padding is allowed
  if (end == 0) return false;                          // empty, or only '='
  return std::all_of(token.begin(), token.begin() + static_cast<long>(end), [](char c) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || std::string_view("-._~+/").find(c) != std::string_view::npos;
  });
}

void check_admin_token(const Config& config, const SourceMap& sources, Reporter& report) {
  if (!sources.contains("admin.token") || is_token68(config.admin.token)) return;
  report.error(position_of(sources, "admin.token", {}),
               "admin.token must be a non-empty token68 (letters, digits and - . _ ~ + /, then "
               "optional '=' padding), as a client sends it after \"Authorization: Bearer\"; "
               "with any other byte (a space, a control character) no request could match it");
}

bool known_balancer(const std::string& balance, const LoadOptions& options) {
  const std::vector<std::string>& known = options.balancers;
  return known.empty() || std::find(known.begin(), known.end(), balance) != known.end();
}

bool hash_key_needs_http(const std::string& hash_key) {
  return hash_key == "uri" || hash_key.starts_with("header:") || hash_key.starts_with("cookie:");
}

bool needs_hash_key(const std::string& balance, const LoadOptions& options) {
  const std::vector<std::string>& hashing = options.hash_key_balancers;
  return std::find(hashing.begin(), hashing.end(), balance) != hashing.end();
}

// `balance = "a"` or `balance = "a" or "b"`, for the messages about settings that need one.
std::string balance_among(const std::vector<std::string>& names) {
  std::string text = "balance = ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += quoted(names[i]);
  }
  return text;
}

// Warns about each of `keys` written in pool `path` although `unless` is not the case.
void warn_ignored(const SourceMap& sources, const std::string& path,
                  std::initializer_list<const char*> keys, const std::string& unless,
                  Reporter& report) {
  for (const char* key : keys) {
    auto written = sources.find(path + "." + key);
    if (written == sources.end()) continue;
    report.warning(written->second, std::string(key) + " is ignored unless " + unless);
  }
}

// v6only needs an IPv6 bind, and an IPv4-mapped bind needs a dual-stack socket.
void check_v6only(const ListenerConfig& listener, const SourceMap& sources, Reporter& report) {
  const std::string path = "listeners." + listener.name;
  if (!listener.bind.ipv6) {
    warn_ignored(sources, path, {"v6only"}, "bind is an IPv6 address, like \"[::]:8080\"", report);
  } else if (listener.v6only && is_ipv4_mapped(listener.bind)) {
    report.error(position_of(sources, path + ".v6only", listener.position),
                 "listener '" + listener.name + "': " + listener.bind.to_string() +
                     " is an IPv4-mapped address, which a socket with v6only = true cannot "
                     "bind; remove v6only or bind " +
                     ipv4_taken(listener.bind, false) + ":" + std::to_string(listener.bind.port));
  }
}

uint32_t weighted_backends(const PoolConfig& pool) {
  return static_cast<uint32_t>(std::count_if(pool.backends.begin(), pool.backends.end(),
                                             [](const BackendConfig& b) { return b.weight > 0; }));
}

// Maglev needs a slot per backend at least, and about 100 per backend to split within 1%.
void check_maglev_size(const PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  std::string path = "pools." + pool.name;
  SourcePosition at = position_of(sources, path + ".maglev_table_size",
                                  position_of(sources, path + ".balance", pool.position));
  const uint64_t backends = weighted_backends(pool);
  const std::string sizes = "maglev_table_size = " + std::to_string(pool.maglev_table_size) +
                            " for " + std::to_string(backends) + " backends";
  if (pool.maglev_table_size < backends) {
    report.error(at, sizes + ": some backends would get no slot; use a prime of at least " +
                         std::to_string(100 * backends));
  } else if (pool.maglev_table_size < 100 * backends) {
    report.warning(at, sizes + " leaves under 100 slots per backend, so shares may differ by " +
                           "more than 1%; use a prime of at least " +
                           std::to_string(100 * backends));
  }
}

void check_ring_size(const PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  uint64_t weight = 0;
  for (const BackendConfig& backend : pool.backends) weight += backend.weight;
  const uint64_t points = weight * pool.ring_points_per_weight;
  if (points <= kMaxRingPoints) return;
  std::string path = "pools." + pool.name;
  report.error(position_of(sources, path + ".ring_points_per_weight",
                           position_of(sources, path + ".hash_method", pool.position)),
               "the ring of pool '" + pool.name + "' would hold " + std::to_string(points) +
                   " points (ring_points_per_weight × total weight); at most " +
                   std::to_string(kMaxRingPoints) + " are allowed");
}

void check_hashing(const PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  std::string path = "pools." + pool.name;
  if (pool.hash_method == "maglev") {
    warn_ignored(sources, path, {"ring_points_per_weight"}, "hash_method = \"ring\"", report);
    check_maglev_size(pool, sources, report);
  } else {
    warn_ignored(sources, path, {"maglev_table_size"}, "hash_method = \"maglev\"", report);
    check_ring_size(pool, sources, report);
  }
}

void check_balance(const PoolConfig& pool, const SourceMap& sources, const LoadOptions& options,
                   Reporter& report) {
  std::string path = "pools." + pool.name;
  SourcePosition balance_at = position_of(sources, path + ".balance", pool.position);
  if (!known_balancer(pool.balance, options)) {
    report.error(balance_at, not_one_of("balance", options.balancers, pool.balance));
    return;
  }
  if (pool.balance != "least_connections") {
    warn_ignored(sources, path, {"choices"}, "balance = \"least_connections\"", report);
  }
  bool hashing = needs_hash_key(pool.balance, options);
  if (hashing && !sources.contains(path + ".hash_key")) {
    report.error(balance_at, "balance = " + quoted(pool.balance) +
                                 " needs a hash_key: client_ip, uri, header:NAME or cookie:NAME");
  }
  if (hashing) {
    check_hashing(pool, sources, report);
    return;
  }
  warn_ignored(sources, path,
               {"hash_key", "hash_method", "maglev_table_size", "ring_points_per_weight",
                "hash_balance_factor"},
               balance_among(options.hash_key_balancers), report);
}

void check_backends(const PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  std::string path = "pools." + pool.name + ".backends";
  const std::vector<BackendConfig>& backends = pool.backends;
  for (size_t i = 0; i < backends.size(); ++i) {
    const Address& address = backends[i].address;
    if (address.port == 0) continue;
    for (size_t j = 0; j < i; ++j) {
      if (backends[j].address != address) continue;
      report.error(position_of(sources, indexed(path, i) + ".address", backends[i].position),
                   "backend " + address.to_string() + " is listed twice in pool '" + pool.name +
                       "' (first at line " + std::to_string(backends[j].position.line) + ")");
      break;
    }
  }
  bool all_idle =
      !backends.empty() && std::all_of(backends.begin(), backends.end(),
                                       [](const BackendConfig& b) { return b.weight == 0; });
  if (all_idle) {
    report.warning(
        position_of(sources, path, pool.position),
        "every backend of pool '" + pool.name + "' has weight 0, so none is ever picked");
  }
}

void check_health(const PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  if (!pool.health) return;
  const HealthConfig& health = *pool.health;
  std::string path = "pools." + pool.name + ".health";
  if (health.check == ProbeKind::kNone) {
    warn_ignored(sources, path,
                 {"path", "host", "expect_status", "expect_body", "interval", "timeout", "rise",
                  "fall", "jitter", "fast_interval", "down_interval", "initial_state"},
                 "check = \"http\" or \"tcp\"", report);
    return;
  }
  if (health.check == ProbeKind::kTcp) {
    warn_ignored(sources, path, {"path", "host", "expect_status", "expect_body"},
                 "check = \"http\"", report);
  }
  if (health.timeout <= health.interval) return;
  SourcePosition at =
      position_of(sources, path + ".timeout", position_of(sources, path, pool.position));
  report.warning(at, "health timeout (" + format_duration(health.timeout) +
                         ") is longer than its interval (" + format_duration(health.interval) +
                         "); a probe may still run when the next one is due");
}

void check_passive(const PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  if (!pool.passive || pool.passive->max_ejection_time >= pool.passive->ejection_time) return;
  std::string path = "pools." + pool.name + ".passive";
  report.error(position_of(sources, path + ".max_ejection_time", pool.position),
               "max_ejection_time (" + format_duration(pool.passive->max_ejection_time) +
                   ") is shorter than ejection_time (" +
                   format_duration(pool.passive->ejection_time) + ")");
}

// Panic and slow start: settings that do nothing in some combinations say so.
void check_pool_health(const PoolConfig& pool, const SourceMap& sources, const LoadOptions& options,
                       Reporter& report) {
  std::string path = "pools." + pool.name;
  if (pool.panic_threshold_percent == 0) {
    warn_ignored(sources, path, {"panic"}, "panic_threshold_percent is above 0", report);
  }
  if (pool.slow_start.count() > 0 && needs_hash_key(pool.balance, options)) {
    report.warning(position_of(sources, path + ".slow_start", pool.position),
                   "slow_start is ignored by balance = " + quoted(pool.balance) +
                       ": hashing keeps each key on its backend, so a returning backend takes "
                       "its keys back at once");
  }
}

// A tcp listener never sees a URI, header or cookie, so a pool it feeds cannot hash on one.
void check_hash_key_protocol(const Config& config, const SourceMap& sources,
                             const LoadOptions& options, Reporter& report) {
  std::set<std::string> reported;
  for (const ListenerConfig& listener : config.listeners) {
    if (listener.protocol != Protocol::kTcp) continue;
    const PoolConfig* pool = config.find_pool(listener.pool);
    if (pool == nullptr || !needs_hash_key(pool->balance, options)) continue;
    if (!hash_key_needs_http(pool->hash_key) || !reported.insert(pool->name).second) continue;
    report.error(position_of(sources, "pools." + pool->name + ".hash_key", pool->position),
                 "hash_key = " + quoted(pool->hash_key) + " needs HTTP, but pool '" + pool->name +
                     "' serves tcp listener '" + listener.name + "' " +
                     line_note(listener.position) + "; use hash_key = \"client_ip\"");
  }
}

}  // namespace

SourcePosition position_of(const SourceMap& sources, const std::string& path,
                           SourcePosition fallback) {
  auto found = sources.find(path);
  return found == sources.end() ? fallback : found->second;
}

void Reporter::error(SourcePosition at, std::string message) {
  add(Severity::kError, at, std::move(message));
}

void Reporter::warning(SourcePosition at, std::string message) {
  add(Severity::kWarning, at, std::move(message));
}

void Reporter::add(Severity severity, SourcePosition at, std::string message) {
  diagnostics_.push_back(Diagnostic{severity, file_, at.line, at.column, std::move(message)});
}

std::vector<Diagnostic> Reporter::take() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return std::move(diagnostics_);
}

std::string not_one_of(const std::string& key, const std::vector<std::string>& choices,
                       const std::string& value) {
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) list += i + 1 == choices.size() ? " or " : ", ";
    list += quoted(choices[i]);
  }
  return "'" + key + "' must be " + list + ", not " + quoted(value) +
         did_you_mean(value, choices, '"');
}

void validate_config(const Config& config, const SourceMap& sources, const LoadOptions& options,
                     Reporter& report) {
  for (const ListenerConfig& listener : config.listeners) {
    check_listener(config, listener, sources, report);
    check_v6only(listener, sources, report);
  }
  check_bind_conflicts(config, sources, report);
  check_admin_conflicts(config, sources, report);
  check_admin_token(config, sources, report);
  for (const PoolConfig& pool : config.pools) {
    check_balance(pool, sources, options, report);
    check_backends(pool, sources, report);
    check_health(pool, sources, report);
    check_passive(pool, sources, report);
    check_pool_health(pool, sources, options, report);
  }
  check_hash_key_protocol(config, sources, options, report);
}

}  // namespace ringlb::config
