// Reads [pools.NAME.dns]: where a pool's backends come from in DNS (core/discovery/). Every
// refusal points at the key, so --check refuses what the server would.
#include <string_view>

#include "config/load_sections.hpp"

namespace ringlb::config::detail {
namespace {

// A DNS name as resolvers take it: dot-separated labels of 1 to 63 letters, digits, '-' or '_'
// (SRV's "_http._tcp"), 253 characters at most, one trailing dot allowed.
std::string dns_name_problem(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return "is empty";
  if (name.size() > 253) return "is longer than 253 characters";
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return "has an empty label (\"..\" or a leading dot)";
      label = 0;
      continue;
    }
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed)
      return "holds '" + std::string(1, c) + "'; a DNS name has letters, digits, - and _";
    if (++label > 63) return "has a label longer than 63 characters";
  }
  if (label == 0) return "has an empty label (\"..\" or a leading dot)";
  return {};
}

void read_dns_name(Section& section, std::string_view key, std::string& out) {
  std::string name;
  if (!section.read_string(key, name)) return;
  if (std::string problem = dns_name_problem(name); !problem.empty()) {
    section.error(section.at(key), "'" + std::string(key) + "' " + problem);
    return;
  }
  if (key == "srv" && name.front() != '_') {
    section.error(section.at(key), "'srv' names an SRV record like \"_http._tcp." + name +
                                       "\"; for A/AAAA records use 'name' and 'port'");
    return;
  }
  out = name;
}

void read_resolvers(Section& section, DnsDiscoveryConfig& dns) {
  std::vector<std::string> written;
  if (!section.read_string_list("resolvers", written)) return;
  if (written.empty()) {
    section.error(section.at("resolvers"),
                  "'resolvers' is empty; leave it out to use /etc/resolv.conf");
    return;
  }
  for (const std::string& text : written) {
    std::string why;
    std::optional<Address> address = parse_address(text, &why);
    if (!address || is_wildcard(*address)) {
      section.error(section.at("resolvers"), "resolver " + quoted(text) +
                                                 " must be \"IP:PORT\" like \"127.0.0.1:53\"" +
                                                 (why.empty() ? std::string() : ": " + why));
      continue;
    }
    dns.resolvers.push_back(*address);
  }
}

// name xor srv; port with name only.
void check_dns_source(Section& section) {
  if (section.has("name") && section.has("srv")) {
    section.error(section.at("srv"),
                  "give either 'name' (A/AAAA, with 'port') or 'srv' (ports and weights from "
                  "SRV), not both");
  } else if (!section.has("name") && !section.has("srv")) {
    section.error(section.where(),
                  "[dns] needs 'name' (with 'port') or 'srv' (like \"_http._tcp.app.example\")");
  }
  if (section.has("name") && !section.has("port")) {
    section.error(section.at("name"), "'name' needs a 'port': A/AAAA records carry none");
  }
  if (section.has("srv") && section.has("port")) {
    section.error(section.at("port"), "'port' does not apply with 'srv': SRV records carry it");
  }
}

}  // namespace

DnsDiscoveryConfig read_pool_dns(Section& section) {
  DnsDiscoveryConfig dns;
  dns.position = section.where();
  read_dns_name(section, "name", dns.name);
  read_dns_name(section, "srv", dns.srv);
  section.read_integer("port", 1, dns.port);
  section.read_duration("refresh", dns.refresh, /*allow_zero=*/false);
  section.read_duration("timeout", dns.timeout, /*allow_zero=*/false);
  read_resolvers(section, dns);
  check_dns_source(section);
  if (section.has("refresh") && dns.refresh < kMinDnsRefresh) {
    section.error(section.at("refresh"), "'refresh' must be at least 1s");
  }
  return dns;
}

}  // namespace ringlb::config::detail
