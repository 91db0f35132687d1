// Loading and printing for `ringlb explain` / `ringlb simulate`. The backends' health is not
// known here (the command reads the file, not a running process), so every backend counts as
// up with no connections: the answer is where the key goes in a healthy, idle pool.
#include "core/explain.hpp"

#include <cstdio>
#include <memory>
#include <optional>

#include "balancers/explain.hpp"
#include "balancers/fingerprint.hpp"
#include "balancers/registry.hpp"
#include "config/loader.hpp"
#include "config/units.hpp"
#include "core/discovery/membership.hpp"
#include "core/runtime/snapshot.hpp"
#include "health/backend_registry.hpp"

namespace ringlb {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;

// One pool of a loaded configuration with a fresh balancer, as the data path would build it.
struct LoadedPool {
  config::Config config;
  const config::PoolConfig* pool = nullptr;
  health::BackendRegistry states;
  balancers::BalancerInit init;
  std::unique_ptr<balancers::Balancer> balancer;
};

void fail(const char* command, const std::string& message) {
  std::fprintf(stderr, "ringlb %s: %s\n", command, message.c_str());
}

std::string pool_names(const config::Config& config) {
  std::string names;
  for (const config::PoolConfig& pool : config.pools) {
    names += (names.empty() ? "" : ", ") + pool.name;
  }
  return names;
}

// Loads the file and builds the pool's balancer; prints why not and returns nullptr on failure.
std::unique_ptr<LoadedPool> load_pool(const char* command, const std::string& path,
                                      const std::string& name,
                                      const balancers::BalancerRegistry& registry) {
  config::LoadResult loaded = config::load_config_file(path, registry.load_options());
  for (const config::Diagnostic& diagnostic : loaded.diagnostics) {
    if (diagnostic.severity == config::Severity::kError) {
      std::fprintf(stderr, "%s\n", diagnostic.to_string().c_str());
    }
  }
  if (!loaded.config) return nullptr;
  auto result = std::make_unique<LoadedPool>();
  result->config = std::move(*loaded.config);
  discovery::Membership membership;  // the inline backends and the backends_file's, as at start
  discovery::merge_configured_sources(result->config, membership);
  result->pool = result->config.find_pool(name);
  if (result->pool == nullptr) {
    fail(command,
         "no pool '" + name + "' in " + path + " (its pools: " + pool_names(result->config) + ")");
    return nullptr;
  }
  result->init = make_balancer_init(*result->pool, 1, result->states);
  result->init.random_seed = 0;  // the same answer on every run
  result->balancer = registry.make(result->pool->balance, result->init);
  return result;
}

const std::string& address_of(const LoadedPool& loaded, uint32_t backend) {
  return loaded.init.backends[backend].state->address();
}

void print_candidate(const LoadedPool& loaded, const balancers::CandidateNote& note) {
  const uint32_t weight = loaded.init.backends[note.backend].weight;
  std::string detail =
      "weight " + std::to_string(weight) + ", active " + std::to_string(note.active);
  if (note.bound != 0) detail += ", bound " + std::to_string(note.bound);
  const char* verdict =
      note.verdict == balancers::Verdict::kPickable ? "chosen" : balancers::to_string(note.verdict);
  std::printf("  %-24s %-20s %s\n", address_of(loaded, note.backend).c_str(), verdict,
              detail.c_str());
}

std::string key_label(const balancers::HashKeySpec& spec, const std::string& key) {
  return "\"" + key + "\" (" + spec.to_string() + ")";
}

}  // namespace

int explain_command(const std::string& config_path, const std::string& pool,
                    const std::string& key) {
  const balancers::BalancerRegistry registry = balancers::builtin_balancers();
  std::unique_ptr<LoadedPool> loaded = load_pool("explain", config_path, pool, registry);
  if (!loaded) return kExitUsage;
  std::optional<uint64_t> key_hash;
  std::string key_line;
  if (loaded->balancer->uses_key() && loaded->init.hash_key) {
    std::string why;
    key_hash = balancers::raw_key_hash(*loaded->init.hash_key, key, why);
    if (!key_hash) {
      fail("explain", why);
      return kExitUsage;
    }
    key_line = key_label(*loaded->init.hash_key, key);
  } else {
    key_line = "\"" + key + "\" (not used: balance = \"" + loaded->pool->balance +
               "\" does not hash a key; this is the first pick of a fresh worker)";
  }
  const balancers::PickTrace trace = balancers::explain_pick(*loaded->balancer, key_hash);
  std::printf("pool:      %s\n", pool.c_str());
  std::printf("table:     %s (fingerprint of the sorted backends and weights)\n",
              balancers::table_fingerprint(loaded->pool->backends).c_str());
  std::printf("algorithm: %s\n", trace.algorithm.c_str());
  std::printf("key:       %s\n", key_line.c_str());
  if (!trace.method.empty()) std::printf("lookup:    %s\n", trace.method.c_str());
  for (const balancers::CandidateNote& note : trace.candidates) print_candidate(*loaded, note);
  if (trace.chosen == balancers::kNoBackend) {
    std::printf("chosen:    none (no backend has weight > 0)\n");
  } else {
    std::printf("chosen:    %s\n", address_of(*loaded, trace.chosen).c_str());
  }
  std::printf(
      "health:    not read (this command reads the file only): all backends count as "
      "up and idle\n");
  return kExitOk;
}

int simulate_command(const std::string& config_path, const std::string& pool,
                     const std::string& removed, uint64_t keys) {
  const balancers::BalancerRegistry registry = balancers::builtin_balancers();
  std::unique_ptr<LoadedPool> loaded = load_pool("simulate", config_path, pool, registry);
  if (!loaded) return kExitUsage;
  if (!loaded->balancer->uses_key()) {
    fail("simulate", "pool '" + pool + "' has balance = \"" + loaded->pool->balance +
                         "\", which does not hash keys; simulate needs balance = "
                         "\"consistent_hash\"");
    return kExitUsage;
  }
  std::string why;
  std::optional<config::Address> address = config::parse_address(removed, &why);
  if (!address) {
    fail("simulate", "--remove " + removed + ": " + why);
    return kExitUsage;
  }
  const std::string wanted = address->to_string();
  uint32_t index = 0;
  while (index < loaded->init.backends.size() && address_of(*loaded, index) != wanted) ++index;
  if (index == loaded->init.backends.size()) {
    fail("simulate", wanted + " is not a backend of pool '" + pool + "'");
    return kExitUsage;
  }
  const balancers::RemovalSimulation result = balancers::simulate_removal(
      registry.factory(loaded->pool->balance), loaded->init, index, keys);
  std::printf("pool:      %s\n", pool.c_str());
  std::printf("algorithm: %s\n", loaded->balancer->describe().c_str());
  std::printf("removed:   %s\n", wanted.c_str());
  std::printf("keys:      %llu sample key hashes\n", static_cast<unsigned long long>(keys));
  std::printf("moved:     %llu (%.2f%%)\n", static_cast<unsigned long long>(result.moved),
              100 * result.moved_share());
  std::printf("necessary: %llu (%.2f%%), the keys %s held\n",
              static_cast<unsigned long long>(result.on_removed), 100 * result.necessary_share(),
              wanted.c_str());
  std::printf("%-24s %10s %10s\n", "backend", "before", "after");
  for (const balancers::BackendLoad& load : result.loads) {
    std::printf("%-24s %10llu %10llu\n", load.address.c_str(),
                static_cast<unsigned long long>(load.before),
                static_cast<unsigned long long>(load.after));
  }
  return kExitOk;
}

}  // namespace ringlb
