// The admin API's access checks: the bearer token, the loopback Host, the cross-site refusals.
#include "core/admin/admin_access.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <string_view>

#include "core/base/log.hpp"

namespace ringlb {
namespace {

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

}  // namespace

AdminResponse json_error(unsigned status, const std::string& message) {
  std::string body = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') body += '\\';
    body += c;
  }
  body += "\"}\n";
  return {status, "application/json", std::move(body)};
}

std::optional<AdminResponse> refuse_rebound_host(const AdminRequest& request,
                                                 const std::string& token, bool loopback_listener) {
  if (!token.empty() || !loopback_listener || request.host.empty()) return std::nullopt;
  if (is_loopback_host(request.host)) return std::nullopt;
  LOG_INFO("admin: 403 for %s %s: Host is not a loopback name", request.method.c_str(),
           request.path.c_str());
  return json_error(403, "without admin.token, a request must name a loopback Host");
}

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

}  // namespace ringlb
