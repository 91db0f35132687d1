// Route matching for HTTP listeners: host patterns and normalized path prefixes.
#include "core/proxy/http_route.hpp"

#include "core/http/http_hardening.hpp"

namespace ringlb {
namespace {

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.rfind(':') == std::string_view::npos ? host.size() : host.rfind(':'));
}

bool host_matches(std::string_view pattern, std::string_view host) {
  if (pattern.empty()) return true;
  host = host_without_port(host);
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() &&
           http::iequals(host.substr(host.size() - suffix.size()), suffix);
  }
  return http::iequals(pattern, host);
}

}  // namespace

const Pool* pick_pool(const Listener& listener, const http::Head& head, std::string& scratch) {
  const std::optional<std::string_view> path = http::routing_path(head.target, scratch);
  if (!path) return nullptr;
  for (const RouteTarget& target : listener.routes) {
    if (host_matches(target.config->host, head.host) &&
        path->starts_with(target.config->path_prefix)) {
      return target.pool;
    }
  }
  return listener.pool;
}

}  // namespace ringlb
