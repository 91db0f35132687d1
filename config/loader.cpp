// Reads a TOML configuration into the config structs, reporting every problem with its
// file:line:col. The only file in ringlb that includes toml++ (docs/architecture.md): the parse is
// here, the checks across sections are in validate.cpp.
#include "config/loader.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <limits>
#include <tuple>

#include "config/file_read.hpp"
#include "config/suggest.hpp"
#include "config/tls_files.hpp"
#include "config/units.hpp"
#include "config/validate.hpp"

namespace ringlb::config {
namespace {

SourcePosition position(const toml::source_position& at) {
  return {static_cast<uint32_t>(at.line), static_cast<uint32_t>(at.column)};
}

SourcePosition position(const toml::node& node) { return position(node.source().begin); }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A value as the user wrote it, for quoting back in a message.
std::string value_text(const toml::node& node) {
  if (const auto* text = node.as_string()) return quoted(text->get());
  if (const auto* number = node.as_integer()) return std::to_string(number->get());
  return type_name(node.type());
}

// The largest value of Int that a TOML integer (int64_t) can hold.
template <typename Int>
constexpr int64_t largest() {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<Int>::max());
  return static_cast<int64_t>(std::min<uint64_t>(kMax, std::numeric_limits<int64_t>::max()));
}

struct Context {
  Reporter& report;
  SourceMap& sources;
};

// One TOML table being read. Each read_* call names a key the table may hold: it records where
// the value is, checks its type and syntax, and stores it only when valid. finish() reports the
// keys that no read_* asked for, with the nearest known key as a suggestion.
class Section {
 public:
  Section(const toml::table& table, std::string path, Context& context)
      : table_(table), path_(std::move(path)), context_(context) {}

  Context& context() const { return context_; }
  SourcePosition where() const { return position(table_); }
  bool has(std::string_view key) const { return table_.contains(key); }
  std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  // Where `key`'s value was written, or where this table starts.
  SourcePosition at(std::string_view key) const {
    return position_of(context_.sources, child_path(key), where());
  }
  void error(SourcePosition location, std::string message) const {
    context_.report.error(location, std::move(message));
  }
  void require(std::string_view key, const std::string& message) const {
    if (!has(key)) error(where(), message);
  }

  const toml::node* peek(std::string_view key) const { return table_.get(key); }

  const toml::node* find(std::string_view key) {
    known_.emplace_back(key);
    const toml::node* node = table_.get(key);
    if (node != nullptr) context_.sources[child_path(key)] = position(*node);
    return node;
  }

  bool read_string(std::string_view key, std::string& out, bool allow_empty = true) {
    const toml::node* node = typed(key, toml::node_type::string, "a string");
    if (node == nullptr) return false;
    const std::string& value = node->as_string()->get();
    if (!allow_empty && value.empty()) {
      error(position(*node), "'" + std::string(key) + "' must not be empty");
      return false;
    }
    out = value;
    return true;
  }

  // Stores the integer at `key` when it is within [min, max]; max defaults to what Int holds.
  template <typename Int>
  void read_integer(std::string_view key, int64_t min, Int& out, int64_t max = largest<Int>()) {
    const toml::node* node = typed(key, toml::node_type::integer, "an integer");
    if (node == nullptr) return;
    int64_t value = node->as_integer()->get();
    if (value >= min && value <= max) {
      out = static_cast<Int>(value);
      return;
    }
    std::string range = max < largest<Int>()
                            ? "from " + std::to_string(min) + " to " + std::to_string(max)
                            : "at least " + std::to_string(min);
    error(position(*node),
          "'" + std::string(key) + "' must be " + range + ", not " + std::to_string(value));
  }

  void read_bool(std::string_view key, bool& out) {
    const toml::node* node = typed(key, toml::node_type::boolean, "a boolean (true or false)");
    if (node != nullptr) out = node->as_boolean()->get();
  }

  void read_duration(std::string_view key, Duration& out, bool allow_zero) {
    const toml::node* node = typed(key, toml::node_type::string, "a duration string like \"2s\"");
    if (node == nullptr) return;
    std::optional<Duration> duration = parse_duration(node->as_string()->get());
    std::string name = "'" + std::string(key) + "'";
    if (!duration) {
      error(position(*node), name + " must be a duration like \"250ms\", \"2s\" or \"1m30s\" " +
                                 "(units ms, s, m, h), not " + value_text(*node));
    } else if (!allow_zero && duration->count() == 0) {
      error(position(*node), name + " must be longer than 0");
    } else if (*duration > kMaxDuration) {
      error(position(*node),
            name + " must be at most \"576h\" (24 days), not " + value_text(*node));
    } else {
      out = *duration;
    }
  }

  void read_size(std::string_view key, uint64_t& out, uint64_t min,
                 uint64_t max = std::numeric_limits<uint64_t>::max()) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    std::string name = "'" + std::string(key) + "'";
    std::optional<uint64_t> bytes;
    if (const auto* number = node->as_integer(); number != nullptr && number->get() >= 0) {
      bytes = static_cast<uint64_t>(number->get());
    } else if (const auto* text = node->as_string()) {
      bytes = parse_size(text->get());
    } else if (number == nullptr) {
      error(position(*node), name + " must be a size (\"32KiB\" or an integer of bytes), not " +
                                 type_name(node->type()));
      return;
    }
    if (!bytes) {
      error(position(*node), name + " must be a size like \"512\", \"16KiB\" or \"1MiB\" " +
                                 "(units B, KiB, MiB, GiB), not " + value_text(*node));
    } else if (*bytes < min) {
      error(position(*node),
            name + " must be at least " + std::to_string(min) + (min == 1 ? " byte" : " bytes"));
    } else if (*bytes > max) {
      error(position(*node), name + " must be at most " + std::to_string(max >> 10) + " KiB, not " +
                                 value_text(*node));
    } else {
      out = *bytes;
    }
  }

  std::optional<Address> read_address(std::string_view key) {
    const toml::node* node =
        typed(key, toml::node_type::string, "an address string like \"127.0.0.1:8080\"");
    if (node == nullptr) return std::nullopt;
    std::string why;
    std::optional<Address> address = parse_address(node->as_string()->get(), &why);
    if (!address) {
      error(position(*node),
            "invalid address " + value_text(*node) + " for '" + std::string(key) + "': " + why);
    }
    return address;
  }

  // The index in `choices` of the word written at `key`.
  std::optional<size_t> read_choice(std::string_view key, const std::vector<std::string>& choices) {
    std::string value;
    if (!read_string(key, value)) return std::nullopt;
    auto found = std::find(choices.begin(), choices.end(), value);
    if (found != choices.end()) return static_cast<size_t>(found - choices.begin());
    error(at(key), not_one_of(std::string(key), choices, value));
    return std::nullopt;
  }

  void read_string_list(std::string_view key, std::vector<std::string>& out) {
    const toml::array* array = read_array(key);
    if (array == nullptr) return;
    std::vector<std::string> values;
    for (const toml::node& element : *array) {
      if (const auto* text = element.as_string()) {
        values.push_back(text->get());
        continue;
      }
      error(position(element),
            "'" + std::string(key) + "' must hold only strings, not " + type_name(element.type()));
      return;
    }
    out = std::move(values);
  }

  const toml::table* read_table(std::string_view key, std::string_view wanted = "a table") {
    const toml::node* node = typed(key, toml::node_type::table, wanted);
    return node == nullptr ? nullptr : node->as_table();
  }

  const toml::array* read_array(std::string_view key) {
    const toml::node* node = typed(key, toml::node_type::array, "an array");
    return node == nullptr ? nullptr : node->as_array();
  }

  void finish() const {
    for (auto&& [key, node] : table_) {
      if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
      error(position(key.source().begin), "unknown key '" + std::string(key.str()) + "' " +
                                              label() + did_you_mean(key.str(), known_));
    }
  }

 private:
  const toml::node* typed(std::string_view key, toml::node_type type, std::string_view wanted) {
    const toml::node* node = find(key);
    if (node == nullptr || node->type() == type) return node;
    error(position(*node), "'" + std::string(key) + "' must be " + std::string(wanted) + ", not " +
                               type_name(node->type()));
    return nullptr;
  }

  std::string label() const {
    if (path_.empty()) return "at the top level";
    if (path_.back() == ']') return "in " + path_;
    return "in [" + path_ + "]";
  }

  const toml::table& table_;
  std::string path_;
  Context& context_;
  std::vector<std::string> known_;
};

// Reads the sub-table at `key` with `read`, then reports its unknown keys.
template <typename Read>
void read_section(Section& parent, std::string_view key, Read&& read) {
  const toml::table* table = parent.read_table(key);
  if (table == nullptr) return;
  Section child(*table, parent.child_path(key), parent.context());
  read(child);
  child.finish();
}

// Reads each table of the array at `key`; `example` shows the expected shape of an entry.
template <typename Read>
void read_entries(Section& parent, std::string_view key, std::string_view example, Read&& read) {
  const toml::array* array = parent.read_array(key);
  if (array == nullptr) return;
  std::string path = parent.child_path(key);
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& node = *array->get(i);
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      parent.error(position(node), "each entry of '" + std::string(key) +
                                       "' must be a table like " + std::string(example) + ", not " +
                                       type_name(node.type()));
      continue;
    }
    Section entry(*table, path + "[" + std::to_string(i) + "]", parent.context());
    read(entry);
    entry.finish();
  }
}

// Reads [KEY.NAME] tables (listeners, pools) in the order the file first names them.
template <typename Read>
void read_named(Section& parent, std::string_view key, std::string_view kind, Read&& read) {
  std::string wanted =
      "a table of named " + std::string(kind) + "s ([" + std::string(key) + ".NAME])";
  const toml::table* table = parent.read_table(key, wanted);
  if (table == nullptr) return;
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [name, node] : *table) entries.emplace_back(&name, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& x = a.first->source().begin;
    const toml::source_position& y = b.first->source().begin;
    return std::tie(x.line, x.column) < std::tie(y.line, y.column);
  });
  for (const auto& [name, node] : entries) {
    std::string path = std::string(key) + "." + std::string(name->str());
    if (node->as_table() == nullptr) {
      parent.error(position(*node), std::string(kind) + " '" + std::string(name->str()) +
                                        "' must be a table ([" + path + "]), not " +
                                        type_name(node->type()));
      continue;
    }
    parent.context().sources[path] = position(*node);
    Section section(*node->as_table(), path, parent.context());
    read(section, std::string(name->str()));
    section.finish();
  }
}

void read_runtime(Section& section, RuntimeConfig& runtime) {
  section.read_integer("workers", 0, runtime.workers, 1024);
  section.read_integer("max_connections", 1, runtime.max_connections);
  section.read_integer("max_tls_handshakes_per_second", 0, runtime.max_tls_handshakes_per_second,
                       1000000000);
  section.read_duration("grace_period", runtime.grace_period, /*allow_zero=*/true);
  section.read_string("user", runtime.user);
  runtime.user_position = section.at("user");
}

void read_admin(Section& section, AdminConfig& admin) {
  admin.listen = section.read_address("listen");
  section.read_string("token", admin.token);
}

void read_log(Section& section, LogConfig& log) {
  // The word lists are in enum order.
  if (auto level = section.read_choice("level", {"error", "warn", "info", "debug"})) {
    log.level = static_cast<LogLevel>(*level);
  }
  section.read_string("access", log.access, /*allow_empty=*/false);
  log.access_position = section.at("access");
  if (auto format = section.read_choice("format", {"text", "json"})) {
    log.format = static_cast<LogFormat>(*format);
  }
}

Route read_route(Section& section) {
  Route route;
  route.position = section.where();
  if (section.read_string("host", route.host) && !is_valid_route_host(route.host)) {
    section.error(section.at("host"),
                  "'host' may use '*' only as a leading \"*.\", like \"*.example.com\"");
  }
  bool has_prefix = section.read_string("path_prefix", route.path_prefix);
  if (has_prefix && !route.path_prefix.empty() && route.path_prefix.front() != '/') {
    section.error(section.at("path_prefix"), "'path_prefix' must start with '/'");
  }
  section.read_string("pool", route.pool, /*allow_empty=*/false);
  section.require("pool", "this route has no 'pool'");
  return route;
}

ListenerTls read_listener_tls(Section& section) {
  ListenerTls tls;
  read_entries(section, "certificates", "{ cert = \"site.pem\", key = \"site.key\" }",
               [&](Section& entry) {
                 TlsCertificate certificate;
                 entry.read_string("cert", certificate.cert, /*allow_empty=*/false);
                 entry.read_string("key", certificate.key, /*allow_empty=*/false);
                 entry.require("cert", "this certificate has no 'cert' file");
                 entry.require("key", "this certificate has no 'key' file");
                 tls.certificates.push_back(std::move(certificate));
               });
  section.require("certificates", "TLS needs at least one entry in 'certificates'");
  const toml::node* written = section.peek("certificates");
  if (written != nullptr && written->is_array() && written->as_array()->empty()) {
    section.error(section.at("certificates"), "TLS needs at least one entry in 'certificates'");
  }
  std::vector<std::string> versions = {"1.2", "1.3"};
  if (auto version = section.read_choice("min_version", versions)) {
    tls.min_version = versions[*version];
  }
  section.read_string_list("alpn", tls.alpn);
  return tls;
}

void read_listener(Section& section, const std::string& name, Config& config) {
  ListenerConfig listener;
  listener.name = name;
  listener.position = section.where();
  if (auto bind = section.read_address("bind")) listener.bind = *bind;
  section.read_bool("v6only", listener.v6only);
  if (auto protocol = section.read_choice("protocol", {"http", "tcp"})) {
    listener.protocol = *protocol == 0 ? Protocol::kHttp : Protocol::kTcp;
  }
  section.read_string("pool", listener.pool, /*allow_empty=*/false);
  read_section(section, "timeouts", [&](Section& timeouts) {
    timeouts.read_duration("header", listener.timeouts.header, /*allow_zero=*/false);
    timeouts.read_duration("client_idle", listener.timeouts.client_idle, /*allow_zero=*/false);
    timeouts.read_duration("tls_handshake", listener.timeouts.tls_handshake,
                           /*allow_zero=*/false);
  });
  read_section(section, "limits", [&](Section& limits) {
    limits.read_size("max_header_bytes", listener.limits.max_header_bytes, 1, kMaxHeaderBytes);
    limits.read_size("max_body_bytes", listener.limits.max_body_bytes, 0);
    limits.read_bool("underscores_in_headers", listener.limits.underscores_in_headers);
  });
  read_entries(section, "routes", "{ path_prefix = \"/v1/\", pool = \"api\" }",
               [&](Section& entry) { listener.routes.push_back(read_route(entry)); });
  read_section(section, "tls", [&](Section& tls) { listener.tls = read_listener_tls(tls); });
  section.require("bind", "listener '" + name + "' has no 'bind' address");
  section.require("pool", "listener '" + name + "' has no 'pool'");
  config.listeners.push_back(std::move(listener));
}

HealthConfig read_health(Section& section) {
  HealthConfig health;
  std::vector<std::string> checks = {"http", "tcp", "none"};
  if (auto check = section.read_choice("check", checks)) health.check = checks[*check];
  std::string path;
  if (section.read_string("path", path) && !path.starts_with("/")) {
    section.error(section.at("path"), "'path' must start with '/'");
  } else if (!path.empty()) {
    health.path = path;
  }
  std::string expect;
  if (section.read_string("expect_status", expect) && !is_valid_expect_status(expect)) {
    section.error(section.at("expect_status"),
                  "'expect_status' must be status codes from 100 to 599 like \"200\", "
                  "\"200-399\" or \"200-299,302\", not " +
                      quoted(expect));
  } else if (!expect.empty()) {
    health.expect_status = expect;
  }
  std::string host;
  if (section.read_string("host", host, /*allow_empty=*/false)) health.host = host;
  section.read_string("expect_body", health.expect_body, /*allow_empty=*/false);
  section.read_duration("interval", health.interval, /*allow_zero=*/false);
  section.read_duration("timeout", health.timeout, /*allow_zero=*/false);
  section.read_integer("rise", 1, health.rise);
  section.read_integer("fall", 1, health.fall);
  section.read_integer("jitter", 0, health.jitter, 50);
  // Derived from the interval unless written: half of it while changing, double while down.
  health.fast_interval = std::max(Duration(1), health.interval / 2);
  health.down_interval = std::min(health.interval * 2, kMaxDuration);
  section.read_duration("fast_interval", health.fast_interval, /*allow_zero=*/false);
  section.read_duration("down_interval", health.down_interval, /*allow_zero=*/false);
  std::vector<std::string> states = {"up", "unknown"};
  if (auto state = section.read_choice("initial_state", states)) {
    health.initial_state = states[*state];
  }
  return health;
}

PassiveConfig read_passive(Section& section) {
  PassiveConfig passive;
  section.read_integer("consecutive_failures", 1, passive.consecutive_failures, 1000);
  section.read_duration("ejection_time", passive.ejection_time, /*allow_zero=*/false);
  section.read_duration("max_ejection_time", passive.max_ejection_time, /*allow_zero=*/false);
  section.read_integer("max_ejected_percent", 0, passive.max_ejected_percent, 100);
  section.read_bool("count_5xx", passive.count_5xx);
  return passive;
}

// The pool-wide health settings: panic mode and slow start.
void read_pool_health(Section& section, PoolConfig& pool) {
  section.read_integer("panic_threshold_percent", 0, pool.panic_threshold_percent, 100);
  std::vector<std::string> panics = {"fail", "serve_all"};
  if (auto panic = section.read_choice("panic", panics)) pool.panic = panics[*panic];
  section.read_duration("slow_start", pool.slow_start, /*allow_zero=*/true);
}

BackendConfig read_backend(Section& section) {
  BackendConfig backend;
  backend.position = section.where();
  std::optional<Address> address = section.read_address("address");
  if (address && is_wildcard(*address)) {
    section.error(section.at("address"),
                  "a backend address cannot be 0.0.0.0 or [::]; give the backend's own IP");
  } else if (address) {
    backend.address = *address;
  }
  section.read_integer("weight", 0, backend.weight, 1000);
  section.require("address", "this backend has no 'address'");
  return backend;
}

PoolTls read_pool_tls(Section& section) {
  PoolTls tls;
  section.read_bool("verify", tls.verify);
  section.read_string("ca", tls.ca);
  section.read_string("sni", tls.sni);
  return tls;
}

void read_pool_timeouts(Section& section, PoolTimeouts& timeouts) {
  section.read_duration("connect", timeouts.connect, /*allow_zero=*/false);
  section.read_duration("response", timeouts.response, /*allow_zero=*/false);
  section.read_duration("idle", timeouts.idle, /*allow_zero=*/false);
}

bool is_prime(uint32_t number) {
  if (number < 2) return false;
  for (uint32_t divisor = 2; divisor <= number / divisor; ++divisor) {
    if (number % divisor == 0) return false;
  }
  return true;
}

void read_maglev_table_size(Section& section, PoolConfig& pool) {
  uint32_t size = 0;
  section.read_integer("maglev_table_size", 2, size, kMaxMaglevTableSize);
  if (size == 0 || is_prime(size)) {
    if (size != 0) pool.maglev_table_size = size;
    return;
  }
  uint32_t next = size + 1;
  while (!is_prime(next)) ++next;
  section.error(section.at("maglev_table_size"),
                "'maglev_table_size' must be a prime number, not " + std::to_string(size) +
                    "; the next prime is " + std::to_string(next));
}

// Reads a key whose valid values are 0 (off) or from `min` up; `why` says what 0 and min mean.
void read_off_or_at_least(Section& section, std::string_view key, uint32_t& out, uint32_t min,
                          uint32_t max, const std::string& why) {
  uint32_t value = 0;
  section.read_integer(key, 0, value, max);
  if (value == 0 || value >= min) {
    if (section.has(key)) out = value;
    return;
  }
  section.error(section.at(key), "'" + std::string(key) + "' must be 0 or from " +
                                     std::to_string(min) + " to " + std::to_string(max) + ", not " +
                                     std::to_string(value) + " (" + why + ")");
}

// The settings that tune one algorithm: validate.cpp says which apply to which.
void read_balancer_tuning(Section& section, PoolConfig& pool) {
  read_maglev_table_size(section, pool);
  section.read_integer("ring_points_per_weight", 1, pool.ring_points_per_weight,
                       kMaxRingPointsPerWeight);
  read_off_or_at_least(section, "hash_balance_factor", pool.hash_balance_factor, 100, 10000,
                       "a percentage of the mean load, like 125; 0 = no bound");
  read_off_or_at_least(section, "choices", pool.choices, 2, kMaxChoices,
                       "0 = compare every backend, 2 = the less loaded of two random ones");
}

void read_pool(Section& section, const std::string& name, Config& config) {
  PoolConfig pool;
  pool.name = name;
  pool.position = section.where();
  section.read_string("balance", pool.balance, /*allow_empty=*/false);
  std::string hash_key;
  if (section.read_string("hash_key", hash_key)) {
    std::string problem = hash_key_problem(hash_key);
    if (problem.empty()) {
      pool.hash_key = hash_key;
    } else {
      section.error(section.at("hash_key"), problem);
    }
  }
  std::vector<std::string> methods = {"maglev", "ring"};
  if (auto method = section.read_choice("hash_method", methods)) {
    pool.hash_method = methods[*method];
  }
  read_balancer_tuning(section, pool);
  read_pool_health(section, pool);
  read_entries(section, "backends", "{ address = \"10.0.0.1:8080\" }",
               [&](Section& entry) { pool.backends.push_back(read_backend(entry)); });
  read_section(section, "health", [&](Section& health) { pool.health = read_health(health); });
  read_section(section, "passive", [&](Section& passive) { pool.passive = read_passive(passive); });
  read_section(section, "tls", [&](Section& tls) { pool.tls = read_pool_tls(tls); });
  read_section(section, "timeouts",
               [&](Section& timeouts) { read_pool_timeouts(timeouts, pool.timeouts); });
  section.require("backends", "pool '" + name + "' has no 'backends'");
  const toml::node* backends = section.peek("backends");
  if (backends != nullptr && backends->is_array() && backends->as_array()->empty()) {
    section.error(section.at("backends"), "pool '" + name +
                                              "' has no backends; add one like { address = "
                                              "\"10.0.0.1:8080\" }");
  }
  config.pools.push_back(std::move(pool));
}

void read_root(Section& root, Config& config) {
  read_section(root, "runtime", [&](Section& s) { read_runtime(s, config.runtime); });
  read_section(root, "admin", [&](Section& s) { read_admin(s, config.admin); });
  read_section(root, "log", [&](Section& s) { read_log(s, config.log); });
  read_named(root, "listeners", "listener",
             [&](Section& s, const std::string& name) { read_listener(s, name, config); });
  read_named(root, "pools", "pool",
             [&](Section& s, const std::string& name) { read_pool(s, name, config); });
  // Only when nothing else explains it: a mistyped [listeners] has its own diagnostic.
  const toml::node* listeners = root.peek("listeners");
  bool none_written =
      listeners == nullptr || (listeners->is_table() && listeners->as_table()->empty());
  if (config.listeners.empty() && none_written) {
    root.error(listeners == nullptr ? SourcePosition{1, 1} : position(*listeners),
               "the configuration has no listeners; add a [listeners.NAME] section");
  }
}

LoadResult failure(const std::string& path, std::string message) {
  LoadResult result;
  result.diagnostics.push_back(Diagnostic{Severity::kError, path, 0, 0, std::move(message)});
  return result;
}

LoadResult load_parsed(const toml::table& table, const std::string& path,
                       const LoadOptions& options) {
  Reporter report(path);
  SourceMap sources;
  Context context{report, sources};
  Config config;
  config.path = path;
  Section root(table, "", context);
  read_root(root, config);
  root.finish();
  validate_config(config, sources, options, report);
  resolve_tls_paths(config);
  check_tls_files(config, sources, report);
  LoadResult result;
  result.diagnostics = report.take();
  if (!has_errors(result.diagnostics)) result.config = std::move(config);
  return result;
}

LoadResult load_text(std::string_view text, const std::string& path, const LoadOptions& options) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    Reporter report(path);
    report.error(position(error.source().begin),
                 "TOML syntax error: " + std::string(error.description()));
    return LoadResult{std::nullopt, report.take()};
  }
  return load_parsed(table, path, options);
}

// The access log a file names must be one the server can open without waiting: a FIFO, a
// directory or a missing directory is refused here, with its position, as it would fail the
// start (or hang it) later. Only for a file read from disk, whose paths mean something here.
void check_access_log_file(LoadResult& result) {
  const LogConfig& log = result.config->log;
  if (log.access == "stdout" || log.access == "off") return;
  const std::string problem = access_log_problem(log.access);
  if (problem.empty()) return;
  result.diagnostics.push_back(Diagnostic{Severity::kError, result.config->path,
                                          log.access_position.line, log.access_position.column,
                                          "log.access " + log.access + ": " + problem});
  result.config.reset();
}

}  // namespace

LoadResult load_config_text(std::string_view text, const std::string& path,
                            const LoadOptions& options) {
  try {
    return load_text(text, path, options);
  } catch (const std::exception& error) {
    return failure(path, std::string("internal error while loading: ") + error.what());
  } catch (...) {
    return failure(path, "internal error while loading: unknown exception");
  }
}

LoadResult load_config_file(const std::string& path, const LoadOptions& options) {
  try {
    std::string why;
    std::optional<FileBytes> file = read_regular_file(path, why);
    if (!file) return failure(path, "cannot read " + path + ": " + why);
    LoadResult result = load_config_text(file->bytes, path, options);
    if (result.config) check_access_log_file(result);
    return result;
  } catch (const std::exception& error) {
    return failure(path, std::string("internal error while loading: ") + error.what());
  } catch (...) {
    return failure(path, "internal error while loading: unknown exception");
  }
}

}  // namespace ringlb::config
