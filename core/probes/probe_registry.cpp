// The kinds of probe this build ships, by the name a pool's `check` gives them.
#include "core/probes/probe_registry.hpp"

namespace ringlb {

// Each defined in its own core/probes/<kind>_probe.cpp.
std::unique_ptr<Probe> make_tcp_probe(const ProbeInit& init);
std::unique_ptr<Probe> make_http_probe(const ProbeInit& init);

namespace {

struct ProbeKindEntry {
  std::string_view check;
  ProbeFactory factory;
};

constexpr ProbeKindEntry kProbeKinds[] = {
    {"tcp", make_tcp_probe},
    {"http", make_http_probe},
};

}  // namespace

ProbeFactory probe_factory(std::string_view check) {
  for (const ProbeKindEntry& kind : kProbeKinds) {
    if (kind.check == check) return kind.factory;
  }
  return nullptr;
}

}  // namespace ringlb
