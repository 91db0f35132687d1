// Maps a `balance = "..."` name to the factory of its algorithm and to what it needs from a
// request. Adding an algorithm is one file plus one line in builtin_balancers(); nothing
// registers itself statically.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"
#include "config/loader.hpp"

namespace ringlb::balancers {

using BalancerFactory = std::unique_ptr<Balancer> (*)(BalancerInit);

// What an algorithm needs, so configuration checks can refuse what cannot work (like HAProxy's
// BE_LB_NEED_*). Whether the key needs HTTP follows from the key itself (HashKeySpec).
struct BalancerNeeds {
  bool hash_key = false;  // reads PickContext::key_hash; the pool must set hash_key
};

class BalancerRegistry {
 public:
  void add(std::string name, BalancerFactory builder, BalancerNeeds needs = {});
  // nullptr when `name` is unknown (config validation has already refused it).
  std::unique_ptr<Balancer> make(const std::string& name, BalancerInit init) const;
  // The factory registered as `name`, or nullptr.
  BalancerFactory factory(const std::string& name) const;
  std::vector<std::string> names() const;
  // The names whose algorithm needs a hash key (config::LoadOptions::hash_key_balancers).
  std::vector<std::string> names_needing_hash_key() const;
  // What the loader must know of this registry: the names `balance` accepts and the ones that
  // need a hash key. The server, --check and explain all load through it.
  config::LoadOptions load_options() const {
    return {.balancers = names(), .hash_key_balancers = names_needing_hash_key()};
  }

 private:
  struct Entry {
    BalancerFactory factory;
    BalancerNeeds needs;
  };
  std::map<std::string, Entry> entries_;
};

// A registry holding every algorithm this build ships.
BalancerRegistry builtin_balancers();

}  // namespace ringlb::balancers
