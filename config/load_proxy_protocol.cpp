// Reads the PROXY protocol keys: proxy_protocol and proxy_protocol_from of [listeners.NAME],
// send_proxy_protocol of [pools.NAME]. `--check` refuses here whatever the server would.
#include <string>

#include "config/load_sections.hpp"

namespace ringlb::config::detail {
namespace {

// Each entry of proxy_protocol_from, reported where it is written when it is not a CIDR.
void read_trusted_sources(Section& section, ListenerConfig& listener) {
  std::vector<std::string> written;
  if (!section.read_string_list("proxy_protocol_from", written)) return;
  const toml::array* entries = section.peek("proxy_protocol_from")->as_array();
  for (size_t i = 0; i < written.size(); ++i) {
    if (std::optional<Cidr> range = parse_cidr(written[i])) {
      listener.proxy_protocol_from.push_back(*range);
      continue;
    }
    // The address reads, so the prefix is what is wrong: say how.
    const bool address_reads = parse_cidr(written[i].substr(0, written[i].find('/'))).has_value();
    section.error(position(*entries->get(i)),
                  "'proxy_protocol_from' takes addresses or CIDRs like \"10.0.0.0/8\" or "
                  "\"2001:db8::/32\", not " +
                      quoted(written[i]) +
                      (address_reads ? " (a prefix out of range, or bits set past it)" : ""));
  }
}

}  // namespace

void read_listener_proxy_protocol(Section& section, ListenerConfig& listener) {
  section.read_bool("proxy_protocol", listener.proxy_protocol);
  read_trusted_sources(section, listener);
  const bool has_from = section.has("proxy_protocol_from");
  if (has_from && !listener.proxy_protocol) {
    section.error(section.at("proxy_protocol_from"),
                  "'proxy_protocol_from' needs proxy_protocol = true on listener '" +
                      listener.name + "'; add it, or remove 'proxy_protocol_from'");
  } else if (listener.proxy_protocol && !has_from) {
    // The header names the client: accepting it from anyone would let any client pick its
    // own address for logs, X-Forwarded-For and client_ip hashing.
    section.error(section.at("proxy_protocol"),
                  "proxy_protocol = true needs 'proxy_protocol_from', the sources trusted to "
                  "send the header, like [\"10.0.0.0/8\"] (or [\"0.0.0.0/0\", \"::/0\"] to "
                  "trust any)");
  } else if (listener.proxy_protocol && listener.proxy_protocol_from.empty() &&
             section.peek("proxy_protocol_from")->is_array() &&
             section.peek("proxy_protocol_from")->as_array()->empty()) {
    section.error(section.at("proxy_protocol_from"),
                  "'proxy_protocol_from' is empty: every connection would be refused; name the "
                  "sources trusted to send the header, like [\"10.0.0.0/8\"]");
  }
}

void read_pool_proxy_protocol(Section& section, PoolConfig& pool) {
  section.read_enum("send_proxy_protocol", kProxyProtocolSendWords, pool.send_proxy_protocol);
}

}  // namespace ringlb::config::detail
