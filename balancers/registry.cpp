// The registry of balancing algorithms, and the one list of those built in.
#include "balancers/registry.hpp"

#include "balancers/consistent_hash.hpp"
#include "balancers/least_connections.hpp"
#include "balancers/random.hpp"
#include "balancers/round_robin.hpp"

namespace ringlb::balancers {

void BalancerRegistry::add(std::string name, BalancerFactory builder, BalancerNeeds needs) {
  entries_[std::move(name)] = Entry{builder, needs};
}

std::unique_ptr<Balancer> BalancerRegistry::make(const std::string& name, BalancerInit init) const {
  BalancerFactory make_balancer = factory(name);
  return make_balancer == nullptr ? nullptr : make_balancer(std::move(init));
}

BalancerFactory BalancerRegistry::factory(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.factory;
}

std::vector<std::string> BalancerRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

std::vector<std::string> BalancerRegistry::names_needing_hash_key() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) {
    if (entry.needs.hash_key) names.push_back(name);
  }
  return names;
}

BalancerRegistry builtin_balancers() {
  BalancerRegistry registry;
  registry.add("round_robin", make_round_robin);
  registry.add("least_connections", make_least_connections);
  registry.add("random", make_random);
  registry.add("consistent_hash", make_consistent_hash, {.hash_key = true});
  return registry;
}

}  // namespace ringlb::balancers
