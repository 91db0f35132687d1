// What a pool's [dns] table asks of DNS: the first lookups of each refresh and the resolvers to
// ask. Pure, so the choice of queries is tested without a network.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ringlb::discovery {

struct DnsQuestion {
  std::string name;
  uint16_t type = 0;  // kDnsTypeA, kDnsTypeAaaa or kDnsTypeSrv (dns_message.hpp)
  friend bool operator==(const DnsQuestion&, const DnsQuestion&) = default;
};

// `name`: its A and AAAA records; `srv`: its SRV records (their targets come second, when the
// answer's additional section does not already hold their addresses).
std::vector<DnsQuestion> first_questions(const config::DnsDiscoveryConfig& dns);

// The A and AAAA questions for one host name (an SRV target).
std::vector<DnsQuestion> address_questions(const std::string& host);

// The resolvers as c-ares's ares_set_servers_ports_csv reads them ("127.0.0.1:53,[::1]:53"), or
// "" for /etc/resolv.conf.
std::string resolver_list(const config::DnsDiscoveryConfig& dns);

// What a pool's lookups are called in logs: "srv _http._tcp.app.example" or "app.example:8080".
std::string describe(const config::DnsDiscoveryConfig& dns);

}  // namespace ringlb::discovery
