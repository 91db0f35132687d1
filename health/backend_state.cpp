// Outcome accounting for BackendState: the active count, and the consecutive-failure counters
// that passive detection reads (health/passive.hpp decides what a trip means), and the epoch that
// tells balancers some backend's eligibility changed.
#include "health/backend_state.hpp"

#include "health/passive.hpp"

namespace ringlb::health {

detail::EligibilityEpoch detail::g_eligibility_epoch;

void BackendState::note_eligibility_change() {
  // Release: a reader that sees the new count also sees the change it counts.
  detail::g_eligibility_epoch.value.fetch_add(1, std::memory_order_release);
}

void BackendState::on_end(Outcome outcome) {
  active_.fetch_sub(1, std::memory_order_relaxed);
  if (outcome == Outcome::kSuccess) {
    reset_count(consecutive_failures_);
    return;
  }
  failed_attempts_.fetch_add(1, std::memory_order_relaxed);
  count_failure(consecutive_failures_, kTripFailures);
}

void BackendState::on_response_status(unsigned status) {
  if (status < 500) {
    reset_count(consecutive_5xx_);
    return;
  }
  if (count_5xx_.load(std::memory_order_relaxed)) count_failure(consecutive_5xx_, kTrip5xx);
}

void BackendState::count_failure(std::atomic<uint32_t>& counter, uint8_t trip) {
  const uint32_t threshold = failure_threshold_.load(std::memory_order_relaxed);
  if (threshold == 0) return;
  if (counter.fetch_add(1, std::memory_order_relaxed) + 1 >= threshold) {
    trips_.fetch_or(trip, std::memory_order_relaxed);
  }
}

void BackendState::set_passive(uint32_t consecutive_failures, bool count_5xx) {
  failure_threshold_.store(consecutive_failures, std::memory_order_relaxed);
  count_5xx_.store(count_5xx, std::memory_order_relaxed);
}

void BackendState::reset_passive_counts() {
  consecutive_failures_.store(0, std::memory_order_relaxed);
  consecutive_5xx_.store(0, std::memory_order_relaxed);
  trips_.store(0, std::memory_order_relaxed);
}

}  // namespace ringlb::health
