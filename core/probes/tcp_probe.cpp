// check = "tcp": passes when the connect (and, on a TLS pool, the handshake) succeeds within the
// timeout.
#include "core/probes/probe_registry.hpp"

namespace ringlb {
namespace {

class TcpProbe final : public Probe {
 public:
  using Probe::Probe;

 private:
  // Over TLS the handshake is complete by now; its last flight leaves with a close_notify, so
  // the server sees a finished handshake and a deliberate close rather than a truncation.
  std::optional<health::CheckResult> on_connected(Ring& ring, TimePoint now) override {
    return conclude(ring, health::CheckResult::pass(), now);
  }
};

}  // namespace

std::unique_ptr<Probe> make_tcp_probe(const ProbeInit& init) {
  return std::make_unique<TcpProbe>(init.address, init.timeout);
}

}  // namespace ringlb
