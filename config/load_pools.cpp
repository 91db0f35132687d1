// Reads [pools.NAME]: the balancer and its tuning, the backends, TLS and timeouts of a pool;
// its health tables are read by load_health.cpp.
#include <utility>

#include "config/load_sections.hpp"

namespace ringlb::config::detail {

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

namespace {

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

}  // namespace

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
  read_pool_proxy_protocol(section, pool);
  read_pool_health(section, pool);
  read_entries(section, "backends", "{ address = \"10.0.0.1:8080\" }",
               [&](Section& entry) { pool.backends.push_back(read_backend(entry)); });
  read_section(section, "health", [&](Section& health) { pool.health = read_health(health); });
  read_section(section, "passive", [&](Section& passive) { pool.passive = read_passive(passive); });
  read_section(section, "tls", [&](Section& tls) { pool.tls = read_pool_tls(tls); });
  read_section(section, "timeouts",
               [&](Section& timeouts) { read_pool_timeouts(timeouts, pool.timeouts); });
  read_section(section, "dns", [&](Section& dns) { pool.dns = read_pool_dns(dns); });
  // A pool fed by a backends_file or DNS may start with no inline backend (and the file may be
  // empty): its backends arrive from those sources.
  const bool has_file = section.read_string("backends_file", pool.backends_file, false);
  const bool other_source = has_file || pool.dns.has_value();
  pool.backends_file_position = section.at("backends_file");
  if (!other_source) section.require("backends", "pool '" + name + "' has no 'backends'");
  const toml::node* backends = section.peek("backends");
  if (!other_source && backends != nullptr && backends->is_array() &&
      backends->as_array()->empty()) {
    section.error(section.at("backends"), "pool '" + name +
                                              "' has no backends; add one like { address = "
                                              "\"10.0.0.1:8080\" }");
  }
  config.pools.push_back(std::move(pool));
}

}  // namespace ringlb::config::detail
