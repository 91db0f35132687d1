// The health state machine of one backend (docs/architecture.md): pure, no I/O, no clock of its
// own. Active check results move its verdict unknown → up ⇄ down with rise/fall damping; passive
// ejection and the admin's drain sit on top. Every change of the visible state is returned as a
// Transition carrying its time and reason, for the log line and /status. Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "health/check_result.hpp"

namespace ringlb::health {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// The visible state. Only kUp takes new work.
enum class State : uint8_t {
  kUnknown,  // initial_state = "unknown" and no check has answered yet
  kUp,
  kDown,      // active checks failed `fall` times in a row (or the first check failed)
  kDraining,  // set by the admin; wins over every other state
  kEjected,   // passive: too many consecutive failures on real traffic, for a while
};

const char* to_string(State state);

struct Thresholds {
  uint32_t rise = 2;  // consecutive passes from down to up
  uint32_t fall = 3;  // consecutive failures from up to down
};

struct Transition {
  State from = State::kUnknown;
  State to = State::kUnknown;
  TimePoint at;
  std::chrono::milliseconds in_old_state{0};  // how long `from` lasted
  std::string reason;                         // "status 503 (3 failed checks in a row)"
};

class BackendHealth {
 public:
  // `initial` is kUp (assume healthy until the first check says otherwise) or kUnknown
  // (ineligible until the first check passes). Either way the first result decides alone.
  BackendHealth(State initial, Thresholds thresholds, TimePoint now);

  State state() const;
  bool eligible() const { return state() == State::kUp; }
  // The active checks' verdict alone: kUnknown, kUp or kDown.
  State verdict() const { return verdict_; }
  bool ejected() const { return ejected_; }
  bool draining() const { return draining_; }
  // A rise or a fall is under way (some results disagree with the verdict): fast_interval.
  bool changing() const;
  TimePoint since() const { return since_; }
  const std::string& reason() const { return reason_; }
  const std::optional<CheckResult>& last_result() const { return last_result_; }
  // When the backend last came back into service from down or ejected (slow start ramps from
  // here); nullopt when it never did. Coming up from unknown or at start is not a comeback.
  std::optional<TimePoint> recovered_at() const { return recovered_at_; }

  // One active check result. A pass also ends an ejection early.
  std::optional<Transition> on_check(const CheckResult& result, TimePoint now);
  // Passive ejection; refused (nullopt, nothing changes) unless the backend is up.
  std::optional<Transition> eject(TimePoint now, const std::string& reason);
  std::optional<Transition> end_ejection(TimePoint now, const std::string& reason);
  std::optional<Transition> set_draining(bool draining, TimePoint now);
  // The pool's checks were turned off: nothing will ever say down again, so the verdict is up.
  std::optional<Transition> stop_checking(TimePoint now);

  void set_thresholds(Thresholds thresholds) { thresholds_ = thresholds; }

 private:
  // Applies `mutate`, and returns the transition when the visible state changed.
  template <typename Mutate>
  std::optional<Transition> change(TimePoint now, const std::string& reason, Mutate&& mutate);
  std::string verdict_reason(const CheckResult& result, bool first) const;

  Thresholds thresholds_;
  State verdict_;
  bool judged_ = false;  // a check has answered since this backend appeared
  bool ejected_ = false;
  bool draining_ = false;
  uint32_t passes_ = 0;  // consecutive
  uint32_t fails_ = 0;   // consecutive
  TimePoint since_;
  std::string reason_;
  std::optional<CheckResult> last_result_;
  std::optional<TimePoint> recovered_at_;
};

}  // namespace ringlb::health
