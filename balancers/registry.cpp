// The registry of balancing algorithms, and the one list of those built in.
#include "balancers/registry.hpp"

#include "balancers/round_robin.hpp"

namespace ringlb::balancers {

void BalancerRegistry::add(std::string name, BalancerFactory factory) {
  factories_[std::move(name)] = factory;
}

std::unique_ptr<Balancer> BalancerRegistry::make(const std::string& name, BalancerInit init) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) return nullptr;
  return it->second(std::move(init));
}

std::vector<std::string> BalancerRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

BalancerRegistry builtin_balancers() {
  BalancerRegistry registry;
  registry.add("round_robin", make_round_robin);
  return registry;
}

}  // namespace ringlb::balancers
