// Maps a pool's `check = "..."` to the factory of its kind of probe. Adding a kind is one file
// (core/probes/<kind>_probe.cpp, defining its factory) plus one line in probe_registry.cpp's
// table; nothing registers itself statically.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "core/io/socket_util.hpp"
#include "core/probes/probe.hpp"
#include "health/http_check.hpp"

namespace ringlb {

// What a factory may use to build the probe of one backend; valid only during the call.
struct ProbeInit {
  const SocketAddress& address;
  std::chrono::milliseconds timeout;
  const health::HttpCheckSpec& http;  // the pool's http check settings (kinds that send one)
  std::string_view backend_address;   // "10.0.0.1:8080": logs, an http check's default Host
};

using ProbeFactory = std::unique_ptr<Probe> (*)(const ProbeInit&);

// The factory for `check` (a pool's [health] check), or nullptr for "none" and for a name no
// kind registered (config validation has refused those already).
ProbeFactory probe_factory(std::string_view check);

}  // namespace ringlb
