// Eligibility in one place: every algorithm skips the same backends (issue: down, draining,
// weight 0, already tried).
#include "balancers/balancer.hpp"

#include <algorithm>

namespace ringlb::balancers {

bool Balancer::can_pick(uint32_t index, const PickContext& ctx) const {
  const BalancedBackend& backend = init_.backends[index];
  if (backend.weight == 0 || !backend.state->eligible()) return false;
  return std::find(ctx.excluded.begin(), ctx.excluded.end(), index) == ctx.excluded.end();
}

}  // namespace ringlb::balancers
