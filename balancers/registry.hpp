// Maps a `balance = "..."` name to the factory of its algorithm. Adding an algorithm is one file
// plus one line in register_builtin_balancers(); nothing registers itself statically.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"

namespace ringlb::balancers {

using BalancerFactory = std::unique_ptr<Balancer> (*)(BalancerInit);

class BalancerRegistry {
 public:
  void add(std::string name, BalancerFactory factory);
  // nullptr when `name` is unknown (config validation has already refused it).
  std::unique_ptr<Balancer> make(const std::string& name, BalancerInit init) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, BalancerFactory> factories_;
};

// A registry holding every algorithm this build ships.
BalancerRegistry builtin_balancers();

}  // namespace ringlb::balancers
