// Consistent hashing over a Maglev table or a ring, with the live eligibility walk and the load
// bound. pick() and explain() share one walk (pick_by_key), so what `ringlb explain` prints is
// what the data path does.
#include "balancers/consistent_hash.hpp"

#include <cinttypes>
#include <cstdio>

namespace ringlb::balancers {
namespace {

// The backends the table holds: those usable at construction (eligible, or in a serve_all panic
// not drained), with a weight.
template <typename Usable>
std::vector<HashNode> table_nodes(const std::vector<BalancedBackend>& backends, Usable&& usable) {
  std::vector<HashNode> nodes;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (backends[i].weight == 0 || !usable(backends[i])) continue;
    nodes.push_back({backends[i].state->address(), backends[i].weight, i});
  }
  return nodes;
}

// pick() observes nothing; everything here inlines away.
struct NoTrace {
  template <typename WhyNot>
  void skipped(uint32_t, WhyNot&&) {}
  void over_bound(uint32_t, uint32_t, uint32_t) {}
  void chosen(uint32_t, uint32_t, uint32_t) {}
};

// explain() records each backend the walk meets, once (a walk may pass a backend many times).
struct Trace {
  std::vector<CandidateNote>& notes;

  template <typename WhyNot>
  void skipped(uint32_t backend, WhyNot&& why_not) {
    if (!seen(backend)) notes.push_back({backend, why_not(), 0, 0});
  }
  void over_bound(uint32_t backend, uint32_t active, uint32_t limit) {
    if (!seen(backend)) notes.push_back({backend, Verdict::kOverBound, active, limit});
  }
  void chosen(uint32_t backend, uint32_t active, uint32_t limit) {
    notes.push_back({backend, Verdict::kPickable, active, limit});
  }
  bool seen(uint32_t backend) const {
    return std::any_of(notes.begin(), notes.end(),
                       [&](const CandidateNote& note) { return note.backend == backend; });
  }
};

std::string hex(uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof(text), "0x%016" PRIx64, value);
  return text;
}

}  // namespace

ConsistentHash::ConsistentHash(BalancerInit init)
    : Balancer(std::move(init)), fallback_(init_), per_worker_(init_.workers) {
  const std::vector<HashNode> nodes =
      table_nodes(init_.backends,
                  [mode = panic()](const BalancedBackend& b) { return usable(*b.state, mode); });
  if (init_.hash_method == HashMethod::kRing) {
    ring_.emplace(nodes, init_.ring_points_per_weight);
  } else {
    maglev_.emplace(nodes, init_.maglev_table_size);
  }
}

std::string ConsistentHash::describe() const {
  std::string text = "consistent_hash (";
  text += maglev_ ? "maglev, " + std::to_string(maglev_->size()) + " slots"
                  : "ring, " + std::to_string(ring_->size()) + " points";
  if (init_.hash_key) text += ", hash_key " + init_.hash_key->to_string();
  if (init_.hash_balance_factor != 0) {
    text += ", bounded load " + std::to_string(init_.hash_balance_factor) + "%";
  }
  return text + ")";
}

uint32_t ConsistentHash::table_size() const { return maglev_ ? maglev_->size() : ring_->size(); }

uint32_t ConsistentHash::first_position(uint64_t key_hash) const {
  return maglev_ ? maglev_->slot(key_hash) : ring_->position(key_hash);
}

uint32_t ConsistentHash::owner(uint32_t position) const {
  return maglev_ ? maglev_->owner(position) : ring_->owner(position);
}

ConsistentHash::PoolLoad ConsistentHash::current_load(health::PanicMode panic) const {
  PoolLoad load;
  load.known = true;
  for (const WeightedBackend& backend : weighted()) {
    if (!usable(*backend.state, panic)) continue;
    load.active += backend.state->active();
    load.weight += backend.weight;
  }
  return load;
}

uint32_t ConsistentHash::bound(uint32_t backend, health::PanicMode panic, PoolLoad& load) const {
  if (!load.known) load = current_load(panic);
  if (load.weight == 0) return 0;  // eligibility moved under us: no bound to apply
  const uint64_t numerator =
      uint64_t{init_.hash_balance_factor} * (load.active + 1) * init_.backends[backend].weight;
  const uint64_t denominator = 100 * load.weight;
  return static_cast<uint32_t>((numerator + denominator - 1) / denominator);
}

template <typename Observer>
uint32_t ConsistentHash::pick_by_key(const PickContext& ctx, health::PanicMode panic,
                                     uint64_t key_hash, Observer& observer) const {
  const uint32_t size = table_size();
  uint32_t position = size == 0 ? 0 : first_position(key_hash);
  PoolLoad load;
  for (uint32_t step = 0; step < size; ++step) {
    const uint32_t backend = owner(position);
    position = position + 1 == size ? 0 : position + 1;
    if (!can_pick(backend, ctx, panic)) {
      observer.skipped(backend, [&] { return verdict(backend, ctx, panic); });
      continue;
    }
    const uint32_t active = init_.backends[backend].state->active();
    // Every bound is at least 1, so an idle backend needs no totals.
    const bool bounded = init_.hash_balance_factor != 0 && active != 0;
    const uint32_t limit = bounded ? bound(backend, panic, load) : 0;
    if (limit != 0 && active >= limit) {
      observer.over_bound(backend, active, limit);
      continue;
    }
    observer.chosen(backend, active, limit);
    return backend;
  }
  // No backend of the table can take it (all down or tried since the table was built).
  const uint32_t backend = fallback_.pick(ctx);
  if (backend != kNoBackend) observer.chosen(backend, init_.backends[backend].state->active(), 0);
  return backend;
}

uint32_t ConsistentHash::pick_without_key(const PickContext& ctx) const {
  std::atomic<uint64_t>& keyless = per_worker_[ctx.worker].keyless;
  keyless.store(keyless.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return fallback_.pick(ctx);
}

uint32_t ConsistentHash::choose(const PickContext& ctx, health::PanicMode panic) const {
  if (!ctx.key_hash) return pick_without_key(ctx);
  NoTrace observer;
  return pick_by_key(ctx, panic, *ctx.key_hash, observer);
}

std::string ConsistentHash::position_text(uint64_t key_hash) const {
  if (table_size() == 0) return "hash " + hex(key_hash) + ", but no backend was eligible";
  const uint32_t position = first_position(key_hash);
  if (maglev_) {
    return "hash " + hex(key_hash) + " -> slot " + std::to_string(position) + " of " +
           std::to_string(maglev_->size());
  }
  return "hash " + hex(key_hash) + " -> ring point " + std::to_string(position) + " of " +
         std::to_string(ring_->size()) + " at " + hex(ring_->points()[position]);
}

PickTrace ConsistentHash::explain(const PickContext& ctx) const {
  const health::PanicMode mode = panic();
  if (mode == health::PanicMode::kFail) return Balancer::explain(ctx);
  PickTrace trace;
  trace.algorithm = describe();
  if (!ctx.key_hash) {
    trace.method = "no key: round robin fallback (counted)";
    trace.chosen = pick_without_key(ctx);
    if (trace.chosen != kNoBackend) trace.candidates.push_back({trace.chosen});
    return trace;
  }
  trace.method = position_text(*ctx.key_hash);
  Trace observer{trace.candidates};
  trace.chosen = pick_by_key(ctx, mode, *ctx.key_hash, observer);
  return trace;
}

uint64_t ConsistentHash::keyless_picks(uint32_t worker) const {
  return per_worker_[worker].keyless.load(std::memory_order_relaxed);
}

uint64_t ConsistentHash::keyless_picks() const {
  uint64_t total = 0;
  for (const WorkerCounters& counters : per_worker_) {
    total += counters.keyless.load(std::memory_order_relaxed);
  }
  return total;
}

std::unique_ptr<Balancer> make_consistent_hash(BalancerInit init) {
  return std::make_unique<ConsistentHash>(std::move(init));
}

}  // namespace ringlb::balancers
