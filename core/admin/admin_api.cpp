// The admin endpoints: who may ask (the token), what is asked (the route), and the answer.
#include "core/admin/admin_api.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/base/log.hpp"

namespace ringlb {
namespace {

AdminResponse json_error(unsigned status, const std::string& message) {
  std::string body = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') body += '\\';
    body += c;
  }
  body += "\"}\n";
  return {status, "application/json", std::move(body)};
}

// "%5B%3A%3A1%5D%3A80" -> "[::1]:80"; nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return std::nullopt;
    const auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (error != std::errc() || end != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

// The value of `name` in an undecoded query string ("value=5&x=y").
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// "Bearer TOKEN". The scheme is case-insensitive (RFC 9110 §11.1) and one or more spaces may
// follow it (§11.4); the token itself is compared in constant time.
bool token_matches(std::string_view authorization, const std::string& token) {
  constexpr std::string_view kBearer = "bearer";
  if (authorization.size() <= kBearer.size() ||
      !equal_ignoring_case(authorization.substr(0, kBearer.size()), kBearer) ||
      authorization[kBearer.size()] != ' ') {
    return false;
  }
  authorization.remove_prefix(kBearer.size());
  authorization.remove_prefix(std::min(authorization.find_first_not_of(' '), authorization.size()));
  if (authorization.size() != token.size()) return false;
  return CRYPTO_memcmp(authorization.data(), token.data(), token.size()) == 0;
}

// A Host header that can only mean this machine: "localhost", an IPv4 literal in 127/8, or
// "[::1]", each with or without a port. Not "127.example.com", although config calls such a
// name loopback: whoever owns the name can rebind it.
bool is_loopback_host(std::string_view host) {
  const bool bracketed = host.starts_with('[');
  const size_t name_end = bracketed ? host.find(']') : host.find(':');
  if (bracketed && name_end == std::string_view::npos) return false;
  std::string_view name = bracketed ? host.substr(1, name_end - 1) : host.substr(0, name_end);
  if (name.ends_with('.')) name.remove_suffix(1);  // the root: "localhost." is "localhost"
  if (equal_ignoring_case(name, "localhost")) return true;
  const std::string text(name);
  if (bracketed) {
    in6_addr v6{};
    return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
  }
  in_addr v4{};
  return inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

// Where no token guards a loopback listener, any web page in a browser on this host can reach it
// under a DNS-rebound name of its own, and then read /status like a same-origin page. Such a
// request names that foreign name in Host, so the Host must name loopback on every request.
// (No browser sends a request without Host; scripts that do are let through.)
std::optional<AdminResponse> refuse_rebound_host(const AdminRequest& request,
                                                 const std::string& token, bool loopback_listener) {
  if (!token.empty() || !loopback_listener || request.host.empty()) return std::nullopt;
  if (is_loopback_host(request.host)) return std::nullopt;
  LOG_INFO("admin: 403 for %s %s: Host is not a loopback name", request.method.c_str(),
           request.path.c_str());
  return json_error(403, "without admin.token, a request must name a loopback Host");
}

// Any web page open in a browser on this host can POST a form to 127.0.0.1. So a change that a
// browser sent from another page is refused (Sec-Fetch-Site, Origin); refuse_rebound_host() has
// already refused a DNS-rebound name. curl and scripts send neither browser header.
const char* cross_site(const AdminRequest& request) {
  if (!request.fetch_site.empty() && request.fetch_site != "same-origin") {
    return "a change sent from another site's page is refused";
  }
  if (!request.origin.empty() && request.origin != "http://" + request.host &&
      request.origin != "https://" + request.host) {
    return "a change whose Origin is not this admin listener is refused";
  }
  return nullptr;
}

// Who may do what: the token, when set, on every request; changes from a listener that is not
// on loopback only with a token.
std::optional<AdminResponse> refuse_unauthorized(const AdminRequest& request,
                                                 const std::string& token, bool loopback_listener,
                                                 bool is_change) {
  if (!token.empty() && !token_matches(request.authorization, token)) {
    LOG_INFO("admin: 401 for %s %s: missing or wrong bearer token", request.method.c_str(),
             request.path.c_str());
    return json_error(401, "a valid 'Authorization: Bearer <admin.token>' header is required");
  }
  if (is_change) {
    if (const char* why = cross_site(request)) {
      LOG_INFO("admin: 403 for %s %s: %s", request.method.c_str(), request.path.c_str(), why);
      return json_error(403, why);
    }
  }
  if (is_change && token.empty() && !loopback_listener) {
    LOG_INFO("admin: 403 for %s %s: changes need admin.token off loopback", request.method.c_str(),
             request.path.c_str());
    return json_error(403, "admin.listen is not on loopback: set admin.token to allow changes");
  }
  return std::nullopt;
}

std::optional<uint32_t> find_backend(const Pool& pool, const std::string& address) {
  const auto& backends = pool.balancer->backends();
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (backends[i].state->address() == address) return i;
  }
  return std::nullopt;
}

const Pool* find_pool(const Snapshot& snapshot, const std::string& name) {
  for (const auto& pool : snapshot.pools) {
    if (pool->config->name == name) return pool.get();
  }
  return nullptr;
}

// POST /pools/NAME/backends/ADDR/{drain,enable,weight}
AdminResponse control_backend(const AdminRequest& request, std::span<const std::string_view> parts,
                              AdminControl& control) {
  const std::optional<std::string> pool_name = percent_decode(parts[1]);
  const std::optional<std::string> address = percent_decode(parts[3]);
  if (!pool_name || !address) return json_error(400, "malformed percent-encoding in the path");
  const Pool* pool = find_pool(control.snapshot(), *pool_name);
  if (pool == nullptr) return json_error(404, "no pool named '" + *pool_name + "'");
  const std::optional<uint32_t> index = find_backend(*pool, *address);
  if (!index) {
    return json_error(404, "pool '" + *pool_name + "' has no backend " + *address);
  }
  // Held across set_weight(), which publishes a new snapshot and may free `pool`.
  const std::shared_ptr<health::BackendState> state = pool->balancer->backends()[*index].state;
  const std::string_view action = parts[4];
  if (action == "drain" || action == "enable") {
    control.set_draining(*pool, *index, action == "drain");
  } else {
    const std::optional<std::string_view> value = query_value(request.query, "value");
    uint32_t weight = 0;
    const char* end = value ? value->data() + value->size() : nullptr;
    const auto parsed =
        value ? std::from_chars(value->data(), end, weight) : std::from_chars_result{};
    if (!value || value->empty() || parsed.ec != std::errc() || parsed.ptr != end ||
        weight > 1000) {
      return json_error(400, "weight needs ?value=N with N from 0 to 1000");
    }
    if (std::string problem = control.set_weight(*pool, *index, weight); !problem.empty()) {
      return json_error(409, problem);
    }
  }
  const uint32_t weight =
      find_pool(control.snapshot(), *pool_name)->config->backends[*index].weight;
  std::string body = "{\"pool\":\"" + *pool_name + "\",\"backend\":\"" + *address +
                     "\",\"draining\":" + (state->draining() ? "true" : "false") +
                     ",\"weight\":" + std::to_string(weight) + "}\n";
  return {200, "application/json", std::move(body)};
}

AdminResponse method_not_allowed(const char* allowed) {
  AdminResponse response = json_error(405, std::string("use ") + allowed);
  return response;
}

}  // namespace

AdminResponse handle_admin_request(const AdminRequest& request, AdminControl& control) {
  const AdminInfo info = control.info();
  const std::vector<std::string_view> parts = split_path(request.path);
  const bool is_control = parts.size() == 5 && parts[0] == "pools" && parts[2] == "backends" &&
                          (parts[4] == "drain" || parts[4] == "enable" || parts[4] == "weight");
  const bool read = request.method == "GET" || request.method == "HEAD";
  const std::string& token = control.snapshot().config.admin.token;
  if (auto refusal = refuse_rebound_host(request, token, info.admin_on_loopback)) return *refusal;
  // The page itself holds no data and a browser cannot send a bearer token when it navigates,
  // so GET /dashboard is open; everything the page shows comes from /status, which is not.
  if (read && request.path == "/dashboard") {
    return {200, "text/html; charset=utf-8", kAdminDashboardHtml};
  }
  if (auto refusal =
          refuse_unauthorized(request, token, info.admin_on_loopback, is_control || !read)) {
    return *refusal;
  }
  if (is_control) {
    if (request.method != "POST") return method_not_allowed("POST");
    return control_backend(request, parts, control);
  }
  const std::string_view path = request.path;
  const bool known = path == "/status" || path == "/metrics" || path == "/ready" ||
                     path == "/dashboard" || path == "/";
  if (!known) return json_error(404, "no such endpoint: " + request.path);
  if (!read) return method_not_allowed("GET");
  if (path == "/status") {
    return {200, "application/json", render_status(control.snapshot(), control.health(), info)};
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            render_metrics(control.snapshot(), control.health(), info)};
  }
  if (path == "/ready") {
    if (info.stopping) return {503, "text/plain", "stopping\n"};
    return {200, "text/plain", "ready\n"};
  }
  if (path == "/dashboard") return {200, "text/html; charset=utf-8", kAdminDashboardHtml};
  return {200, "application/json",
          "{\"endpoints\":[\"/status\",\"/metrics\",\"/ready\",\"/dashboard\","
          "\"POST /pools/NAME/backends/ADDR/drain\",\"POST /pools/NAME/backends/ADDR/enable\","
          "\"POST /pools/NAME/backends/ADDR/weight?value=N\"]}\n"};
}

}  // namespace ringlb
