// The questions and resolvers of a pool's [dns] table (see dns_plan.hpp).
#include "core/discovery/dns_plan.hpp"

#include "core/discovery/dns_message.hpp"

namespace ringlb::discovery {

std::vector<DnsQuestion> first_questions(const config::DnsDiscoveryConfig& dns) {
  if (!dns.srv.empty()) return {{dns.srv, kDnsTypeSrv}};
  return address_questions(dns.name);
}

std::vector<DnsQuestion> address_questions(const std::string& host) {
  return {{host, kDnsTypeA}, {host, kDnsTypeAaaa}};
}

std::string resolver_list(const config::DnsDiscoveryConfig& dns) {
  std::string list;
  for (const config::Address& resolver : dns.resolvers) {
    if (!list.empty()) list += ',';
    list += resolver.to_string();
  }
  return list;
}

std::string describe(const config::DnsDiscoveryConfig& dns) {
  if (!dns.srv.empty()) return "SRV " + dns.srv;
  return dns.name + ":" + std::to_string(dns.port);
}

}  // namespace ringlb::discovery
