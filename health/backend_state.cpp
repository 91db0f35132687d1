// Outcome accounting for BackendState. Passive health (ejection) will read these signals here.
#include "health/backend_state.hpp"

namespace ringlb::health {

void BackendState::on_end(Outcome outcome) {
  active_.fetch_sub(1, std::memory_order_relaxed);
  if (outcome != Outcome::kSuccess) {
    failed_attempts_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace ringlb::health
