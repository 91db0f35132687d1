// The per-backend state machine: rise/fall counting on the active verdict, with ejection and
// drain layered on top, and one Transition per change of what the balancers see.
#include "health/backend_health.hpp"

#include <utility>

namespace ringlb::health {

const char* to_string(State state) {
  switch (state) {
    case State::kUnknown:
      return "unknown";
    case State::kUp:
      return "up";
    case State::kDown:
      return "down";
    case State::kDraining:
      return "draining";
    case State::kEjected:
      return "ejected";
  }
  return "?";
}

BackendHealth::BackendHealth(State initial, Thresholds thresholds, TimePoint now)
    : thresholds_(thresholds),
      verdict_(initial == State::kUnknown ? State::kUnknown : State::kUp),
      since_(now),
      reason_(initial == State::kUnknown ? "waiting for the first check" : "initial state") {}

State BackendHealth::state() const {
  if (draining_) return State::kDraining;
  if (verdict_ != State::kUp) return verdict_;
  return ejected_ ? State::kEjected : State::kUp;
}

bool BackendHealth::changing() const {
  if (!judged_) return false;
  return (verdict_ == State::kUp && fails_ > 0) || (verdict_ == State::kDown && passes_ > 0);
}

template <typename Mutate>
std::optional<Transition> BackendHealth::change(TimePoint now, const std::string& reason,
                                                Mutate&& mutate) {
  const State before = state();
  std::forward<Mutate>(mutate)();
  const State after = state();
  if (after == before) return std::nullopt;
  Transition transition{before, after, now,
                        std::chrono::duration_cast<std::chrono::milliseconds>(now - since_),
                        reason};
  if (after == State::kUp && (before == State::kDown || before == State::kEjected)) {
    recovered_at_ = now;
  }
  since_ = now;
  reason_ = reason;
  return transition;
}

std::string BackendHealth::verdict_reason(const CheckResult& result, bool first) const {
  std::string text = describe(result);
  if (first) return text + " (first check)";
  const uint32_t count = result.passed() ? passes_ : fails_;
  return text + " (" + std::to_string(count) + (result.passed() ? " passed" : " failed") +
         (count == 1 ? " check" : " checks") + " in a row)";
}

std::optional<Transition> BackendHealth::on_check(const CheckResult& result, TimePoint now) {
  last_result_ = result;
  const bool first = !judged_;
  judged_ = true;
  if (result.passed()) {
    fails_ = 0;
    ++passes_;
    const bool rises = first || (verdict_ != State::kUp && passes_ >= thresholds_.rise);
    if (ejected_) {  // implies verdict_ == kUp: eject() refuses anything else
      return change(now, describe(result) + ", ending the ejection early",
                    [&] { ejected_ = false; });
    }
    if (!rises) return std::nullopt;
    return change(now, verdict_reason(result, first), [&] { verdict_ = State::kUp; });
  }
  passes_ = 0;
  ++fails_;
  const bool falls = first || (verdict_ != State::kDown && fails_ >= thresholds_.fall);
  if (!falls) return std::nullopt;
  return change(now, verdict_reason(result, first), [&] {
    verdict_ = State::kDown;
    ejected_ = false;  // down says more than ejected, and ends it
  });
}

std::optional<Transition> BackendHealth::eject(TimePoint now, const std::string& reason) {
  if (state() != State::kUp) return std::nullopt;
  return change(now, reason, [&] { ejected_ = true; });
}

std::optional<Transition> BackendHealth::end_ejection(TimePoint now, const std::string& reason) {
  if (!ejected_) return std::nullopt;
  return change(now, reason, [&] { ejected_ = false; });
}

std::optional<Transition> BackendHealth::set_draining(bool draining, TimePoint now) {
  return change(now, draining ? "drained by the admin" : "enabled by the admin",
                [&] { draining_ = draining; });
}

std::optional<Transition> BackendHealth::stop_checking(TimePoint now) {
  passes_ = 0;
  fails_ = 0;
  judged_ = false;
  if (verdict_ == State::kUp) return std::nullopt;
  return change(now, "health checks turned off", [&] { verdict_ = State::kUp; });
}

}  // namespace ringlb::health
