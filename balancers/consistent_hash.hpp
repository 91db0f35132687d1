// balance = "consistent_hash": the request's key hash picks a backend through a Maglev table or
// a hash ring, so the same key keeps reaching the same backend. With hash_balance_factor it is
// consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, SODA 2018).
#pragma once

#include <atomic>
#include <optional>
#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/maglev.hpp"
#include "balancers/ring_hash.hpp"
#include "balancers/round_robin.hpp"

namespace ringlb::balancers {

// The table holds the backends eligible at construction. pick() walks from the key's slot (or
// point) to the next ones until it finds a backend that is pickable now and, with a balance
// factor, below its bound: ⌈factor/100 × (active + 1) × weight / total weight⌉ over the eligible
// backends, i.e. ⌈factor/100 × mean⌉ counting the new connection when weights are equal. That
// walk is the deterministic overflow order and also the retry order. A request without a key
// goes round robin, counted per worker.
class ConsistentHash final : public Balancer {
 public:
  // Builds the table: off the data path, allocates.
  explicit ConsistentHash(BalancerInit init);

  bool rebuilds_on_eligibility_change() const override { return true; }
  bool uses_key() const override { return true; }
  std::string describe() const override;
  PickTrace explain(const PickContext& ctx) const override;

  // Picks that fell back to round robin because the request had no key. Any thread (relaxed).
  uint64_t keyless_picks(uint32_t worker) const;
  uint64_t keyless_picks() const;

  // The table in use: exactly one of them is set.
  const MaglevTable* maglev() const { return maglev_ ? &*maglev_ : nullptr; }
  const RingHash* ring() const { return ring_ ? &*ring_ : nullptr; }

 private:
  uint32_t choose(const PickContext& ctx, health::PanicMode panic) const override;
  // Totals over the backends eligible now, for the load bound; read once per pick, when needed.
  struct PoolLoad {
    bool known = false;
    uint64_t active = 0;
    uint64_t weight = 0;
  };
  struct alignas(64) WorkerCounters {
    std::atomic<uint64_t> keyless{0};
  };

  template <typename Observer>
  uint32_t pick_by_key(const PickContext& ctx, health::PanicMode panic, uint64_t key_hash,
                       Observer& observer) const;
  uint32_t bound(uint32_t backend, health::PanicMode panic, PoolLoad& load) const;
  PoolLoad current_load(health::PanicMode panic) const;
  uint32_t table_size() const;
  uint32_t first_position(uint64_t key_hash) const;
  uint32_t owner(uint32_t position) const;
  std::string position_text(uint64_t key_hash) const;
  uint32_t pick_without_key(const PickContext& ctx) const;

  std::optional<MaglevTable> maglev_;
  std::optional<RingHash> ring_;
  const RoundRobin fallback_;
  mutable std::vector<WorkerCounters> per_worker_;
};

std::unique_ptr<Balancer> make_consistent_hash(BalancerInit init);

}  // namespace ringlb::balancers
