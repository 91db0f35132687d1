// Reads [listeners.NAME]: the bind, protocol, timeouts, limits, routes and TLS of a listener.
#include <utility>

#include "config/load_sections.hpp"

namespace ringlb::config::detail {
namespace {

Route read_route(Section& section) {
  Route route;
  route.position = section.where();
  if (section.read_string("host", route.host) && !is_valid_route_host(route.host)) {
    section.error(section.at("host"),
                  "'host' may use '*' only as a leading \"*.\", like \"*.example.com\"");
  }
  bool has_prefix = section.read_string("path_prefix", route.path_prefix);
  if (has_prefix && !route.path_prefix.empty() && route.path_prefix.front() != '/') {
    section.error(section.at("path_prefix"), "'path_prefix' must start with '/'");
  }
  section.read_string("pool", route.pool, /*allow_empty=*/false);
  section.require("pool", "this route has no 'pool'");
  return route;
}

ListenerTls read_listener_tls(Section& section) {
  ListenerTls tls;
  read_entries(section, "certificates", "{ cert = \"site.pem\", key = \"site.key\" }",
               [&](Section& entry) {
                 TlsCertificate certificate;
                 entry.read_string("cert", certificate.cert, /*allow_empty=*/false);
                 entry.read_string("key", certificate.key, /*allow_empty=*/false);
                 entry.require("cert", "this certificate has no 'cert' file");
                 entry.require("key", "this certificate has no 'key' file");
                 tls.certificates.push_back(std::move(certificate));
               });
  section.require("certificates", "TLS needs at least one entry in 'certificates'");
  const toml::node* written = section.peek("certificates");
  if (written != nullptr && written->is_array() && written->as_array()->empty()) {
    section.error(section.at("certificates"), "TLS needs at least one entry in 'certificates'");
  }
  std::vector<std::string> versions = {"1.2", "1.3"};
  if (auto version = section.read_choice("min_version", versions)) {
    tls.min_version = versions[*version];
  }
  section.read_string_list("alpn", tls.alpn);
  return tls;
}

}  // namespace

void read_listener(Section& section, const std::string& name, Config& config) {
  ListenerConfig listener;
  listener.name = name;
  listener.position = section.where();
  if (auto bind = section.read_address("bind")) listener.bind = *bind;
  section.read_bool("v6only", listener.v6only);
  if (auto protocol = section.read_choice("protocol", {"http", "tcp"})) {
    listener.protocol = *protocol == 0 ? Protocol::kHttp : Protocol::kTcp;
  }
  section.read_string("pool", listener.pool, /*allow_empty=*/false);
  read_section(section, "timeouts", [&](Section& timeouts) {
    timeouts.read_duration("header", listener.timeouts.header, /*allow_zero=*/false);
    timeouts.read_duration("client_idle", listener.timeouts.client_idle, /*allow_zero=*/false);
    timeouts.read_duration("tls_handshake", listener.timeouts.tls_handshake,
                           /*allow_zero=*/false);
  });
  read_section(section, "limits", [&](Section& limits) {
    limits.read_size("max_header_bytes", listener.limits.max_header_bytes, 1, kMaxHeaderBytes);
    limits.read_size("max_body_bytes", listener.limits.max_body_bytes, 0);
    limits.read_bool("underscores_in_headers", listener.limits.underscores_in_headers);
  });
  read_entries(section, "routes", "{ path_prefix = \"/v1/\", pool = \"api\" }",
               [&](Section& entry) { listener.routes.push_back(read_route(entry)); });
  read_section(section, "tls", [&](Section& tls) { listener.tls = read_listener_tls(tls); });
  section.require("bind", "listener '" + name + "' has no 'bind' address");
  section.require("pool", "listener '" + name + "' has no 'pool'");
  config.listeners.push_back(std::move(listener));
}

}  // namespace ringlb::config::detail
