// Reads [listeners.NAME]: the bind, protocol, timeouts, limits, routes, TLS and HTTP/2 of a
// listener, and settles the ALPN list a TLS http listener offers.
#include <algorithm>
#include <utility>

#include "config/load_sections.hpp"

namespace ringlb::config::detail {
namespace {

// The bounds of [listeners.NAME.http2]. The window: below 16 KiB a body crawls a frame at a time;
// above 16 MiB one stream may hold that much of the backend's pace in memory.
constexpr uint64_t kMinInitialWindow = 16 * 1024;
constexpr uint64_t kMaxInitialWindow = 16 * 1024 * 1024;
constexpr int64_t kMaxConcurrentStreams = 1000;
constexpr int64_t kMaxFramesPerSecond = 100000;

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

ListenerHttp2 read_http2(Section& section) {
  ListenerHttp2 http2;
  section.read_bool("enabled", http2.enabled);
  section.read_integer("max_concurrent_streams", 1, http2.max_concurrent_streams,
                       kMaxConcurrentStreams);
  section.read_size("initial_window", http2.initial_window, kMinInitialWindow, kMaxInitialWindow);
  section.read_integer("max_resets_per_second", 1, http2.max_resets_per_second,
                       kMaxFramesPerSecond);
  section.read_integer("max_control_frames_per_second", 1, http2.max_control_frames_per_second,
                       kMaxFramesPerSecond);
  section.read_integer("max_empty_frames_per_second", 1, http2.max_empty_frames_per_second,
                       kMaxFramesPerSecond);
  return http2;
}

// A written `alpn` is kept as written; it must agree with [listeners.NAME.http2] enabled.
void check_alpn_offers(Section& section, const ListenerConfig& listener,
                       const std::vector<std::string>& alpn) {
  const bool offers_h2 = std::find(alpn.begin(), alpn.end(), "h2") != alpn.end();
  const std::string http2 = "[listeners." + listener.name + ".http2]";
  if (offers_h2 && !listener.http2.enabled) {
    section.error(section.at("alpn"), "'alpn' offers \"h2\", but " + http2 +
                                          " has enabled = false; remove \"h2\" or enable HTTP/2");
  } else if (!offers_h2 && listener.http2.enabled) {
    section.warning(section.at("alpn"), "h2 is not offered by ALPN: 'alpn' has no \"h2\" while " +
                                            http2 +
                                            " is enabled, so TLS clients get HTTP/1.1; "
                                            "add \"h2\" first, or set enabled = false");
  }
}

// `listener` has its protocol and HTTP/2 settings read: they decide the ALPN list of an http
// listener whose file does not write one.
ListenerTls read_listener_tls(Section& section, const ListenerConfig& listener) {
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
  const bool alpn_written = section.has("alpn");
  const bool alpn_read = section.read_string_list("alpn", tls.alpn);
  if (listener.protocol != Protocol::kHttp) return tls;  // tcp: offered as written or the default
  // h2 first: select_alpn picks by the server's order, so a client offering both gets h2.
  if (!alpn_written && listener.http2.enabled) tls.alpn = {"h2", "http/1.1"};
  if (alpn_read) check_alpn_offers(section, listener, tls.alpn);
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
  read_listener_proxy_protocol(section, listener);
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
  read_section(section, "http2", [&](Section& http2) { listener.http2 = read_http2(http2); });
  // After http2 and protocol, which settle its ALPN list.
  read_section(section, "tls",
               [&](Section& tls) { listener.tls = read_listener_tls(tls, listener); });
  section.require("bind", "listener '" + name + "' has no 'bind' address");
  section.require("pool", "listener '" + name + "' has no 'pool'");
  config.listeners.push_back(std::move(listener));
}

}  // namespace ringlb::config::detail
