// check = "http": GET path (over TLS on a TLS pool), then the status (and optionally a body
// substring) decides; health/http_check.hpp builds the request and judges the response.
#include <span>
#include <string>
#include <utility>

#include "core/probes/probe_registry.hpp"

namespace ringlb {
namespace {

using health::CheckResult;
using health::ResultKind;

class HttpProbe final : public Probe {
 public:
  HttpProbe(const SocketAddress& address, std::chrono::milliseconds timeout,
            health::HttpCheckSpec spec, std::string_view backend_address)
      : Probe(address, timeout),
        spec_(std::move(spec)),
        request_(health::build_check_request(spec_, backend_address)),
        response_(spec_) {}

 private:
  std::optional<CheckResult> on_connected(Ring& ring, TimePoint now) override;
  std::optional<CheckResult> on_transfer(Ring& ring, Step step, int result, TimePoint now) override;

  const health::HttpCheckSpec spec_;
  const std::string request_;
  size_t sent_ = 0;
  health::HttpResponseCheck response_;
};

std::optional<CheckResult> HttpProbe::on_connected(Ring& ring, TimePoint now) {
  sent_ = 0;
  response_.reset();
  return send(ring, request_.data(), request_.size(), now);
}

std::optional<CheckResult> HttpProbe::on_transfer(Ring& ring, Step step, int result,
                                                  TimePoint now) {
  if (result < 0) return CheckResult{ResultKind::kBadResponse, -result, 0, {}};
  if (step == Step::kSend) {
    sent_ += static_cast<size_t>(result);
    if (sent_ < request_.size()) {
      return send(ring, request_.data() + sent_, request_.size() - sent_, now);
    }
  } else if (result == 0) {
    return response_.closed();
  } else if (auto verdict = response_.received(static_cast<size_t>(result))) {
    return verdict;
  }
  const std::span<char> space = response_.space();
  return receive(ring, space.data(), space.size(), now);
}

}  // namespace

std::unique_ptr<Probe> make_http_probe(const ProbeInit& init) {
  return std::make_unique<HttpProbe>(init.address, init.timeout, init.http, init.backend_address);
}

}  // namespace ringlb
