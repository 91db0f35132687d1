// `ringlb --check`: loads the file as the server would and builds its TLS contexts as a start
// would, and prints every problem as FILE:LINE:COL: message. It reads the files the
// configuration names but asks nothing of the machine (no bind, no user lookup), so a file can
// be checked on another host and while ringlb runs.
#include <cstdio>
#include <string>

#include "balancers/registry.hpp"
#include "config/loader.hpp"
#include "core/io/tls_context.hpp"
#include "core/server.hpp"

namespace ringlb {
namespace {

std::string at(const config::Config& config, config::SourcePosition position,
               const std::string& message) {
  return config::Diagnostic{config::Severity::kError, config.path, position.line, position.column,
                            message}
      .to_string();
}

// Builds every TLS context as a start would, so what OpenSSL alone refuses (a key too small
// for its security level, say) is refused here too. "" when all build.
std::string tls_refusal(const config::Config& config) {
  std::string error;
  for (const config::ListenerConfig& listener : config.listeners) {
    if (listener.tls && !TlsServerContext::build(*listener.tls, error)) {
      return at(config, listener.position, "listener '" + listener.name + "': TLS: " + error);
    }
  }
  for (const config::PoolConfig& pool : config.pools) {
    if (pool.tls && !TlsClientContext::build(*pool.tls, error)) {
      return at(config, pool.position, "pool '" + pool.name + "': TLS: " + error);
    }
  }
  return "";
}

}  // namespace

int check_config(const std::string& path) {
  constexpr int kExitConfig = 1;
  const balancers::BalancerRegistry balancers = balancers::builtin_balancers();
  const config::LoadResult loaded = config::load_config_file(path, balancers.load_options());
  for (const config::Diagnostic& diagnostic : loaded.diagnostics) {
    std::fprintf(stderr, "%s\n", diagnostic.to_string().c_str());
  }
  if (!loaded.config) return kExitConfig;
  if (const std::string refusal = tls_refusal(*loaded.config); !refusal.empty()) {
    std::fprintf(stderr, "%s\n", refusal.c_str());
    return kExitConfig;
  }
  std::puts("configuration OK");
  return 0;
}

}  // namespace ringlb
