// Eligibility in one place: every algorithm skips the same backends (down, draining, weight 0,
// already tried), and explains a skip with the same words.
#include "balancers/balancer.hpp"

namespace ringlb::balancers {

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPickable:
      return "pickable";
    case Verdict::kWeightZero:
      return "weight 0";
    case Verdict::kPanicFail:
      return "pool in panic (panic = \"fail\")";
    case Verdict::kDown:
      return "down";
    case Verdict::kEjected:
      return "ejected";
    case Verdict::kDraining:
      return "draining";
    case Verdict::kExcluded:
      return "already tried";
    case Verdict::kOverBound:
      return "over its load bound";
  }
  return "?";
}

Balancer::Balancer(BalancerInit init) : init_(std::move(init)) {
  for (uint32_t i = 0; i < init_.backends.size(); ++i) {
    const BalancedBackend& backend = init_.backends[i];
    if (backend.weight != 0) weighted_.push_back({backend.state.get(), backend.weight, i});
  }
}

Verdict Balancer::verdict(uint32_t index, const PickContext& ctx, health::PanicMode panic) const {
  const BalancedBackend& backend = init_.backends[index];
  if (backend.weight == 0) return Verdict::kWeightZero;
  if (panic == health::PanicMode::kFail) return Verdict::kPanicFail;
  if (backend.state->draining()) return Verdict::kDraining;
  if (!usable(*backend.state, panic)) {
    return backend.state->up() ? Verdict::kEjected : Verdict::kDown;
  }
  if (excluded(ctx, index)) return Verdict::kExcluded;
  return Verdict::kPickable;
}

PickTrace Balancer::explain(const PickContext& ctx) const {
  PickTrace trace;
  trace.algorithm = describe();
  if (panic() == health::PanicMode::kFail) {
    trace.method = "the pool is in panic with panic = \"fail\": every request gets 503";
    return trace;
  }
  trace.chosen = pick(ctx);
  if (trace.chosen != kNoBackend) {
    trace.candidates.push_back(
        {trace.chosen, Verdict::kPickable, init_.backends[trace.chosen].state->active(), 0});
  }
  return trace;
}

}  // namespace ringlb::balancers
