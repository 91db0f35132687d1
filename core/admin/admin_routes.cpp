// The admin endpoints: one table row per endpoint (its path, method, access and handler), the
// handlers, and the dispatch that checks access (admin_access) before it calls one. Adding an
// endpoint is a handler here plus its row in kEndpoints.
#include <algorithm>
#include <array>
#include <charconv>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "config/units.hpp"
#include "core/admin/admin_access.hpp"
#include "core/admin/admin_api.hpp"

namespace ringlb {
namespace {

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

// What a handler is given: the request, its path split into segments, the server and its facts.
struct AdminCall {
  const AdminRequest& request;
  std::span<const std::string_view> parts;
  AdminControl& control;
  const AdminInfo& info;
};

// A backend change's own step, once the pool and backend are found. Returns an error response,
// or nullopt once the change is made.
using BackendChange = std::optional<AdminResponse> (*)(const AdminCall& call, const Pool& pool,
                                                       uint32_t backend);

// POST /pools/NAME/backends/ADDR/...: finds the backend, makes `change`, and answers with the
// backend's state after it.
AdminResponse change_backend(const AdminCall& call, BackendChange change) {
  const std::optional<std::string> pool_name = percent_decode(call.parts[1]);
  const std::optional<std::string> address = percent_decode(call.parts[3]);
  if (!pool_name || !address) return json_error(400, "malformed percent-encoding in the path");
  const Pool* pool = find_pool(call.control.snapshot(), *pool_name);
  if (pool == nullptr) return json_error(404, "no pool named '" + *pool_name + "'");
  const std::optional<uint32_t> index = find_backend(*pool, *address);
  if (!index) {
    return json_error(404, "pool '" + *pool_name + "' has no backend " + *address);
  }
  // Held across set_weight(), which publishes a new snapshot and may free `pool`.
  const std::shared_ptr<health::BackendState> state = pool->balancer->backends()[*index].state;
  if (std::optional<AdminResponse> refused = change(call, *pool, *index)) return *refused;
  const uint32_t weight =
      find_pool(call.control.snapshot(), *pool_name)->config->backends[*index].weight;
  std::string body = "{\"pool\":\"" + *pool_name + "\",\"backend\":\"" + *address +
                     "\",\"draining\":" + (state->draining() ? "true" : "false") +
                     ",\"weight\":" + std::to_string(weight) + "}\n";
  return {200, "application/json", std::move(body)};
}

std::optional<AdminResponse> drain(const AdminCall& call, const Pool& pool, uint32_t backend) {
  call.control.set_draining(pool, backend, true);
  return std::nullopt;
}

std::optional<AdminResponse> enable(const AdminCall& call, const Pool& pool, uint32_t backend) {
  call.control.set_draining(pool, backend, false);
  return std::nullopt;
}

std::optional<AdminResponse> set_weight(const AdminCall& call, const Pool& pool, uint32_t backend) {
  const std::optional<std::string_view> value = query_value(call.request.query, "value");
  uint32_t weight = 0;
  const char* end = value ? value->data() + value->size() : nullptr;
  const auto parsed =
      value ? std::from_chars(value->data(), end, weight) : std::from_chars_result{};
  if (!value || value->empty() || parsed.ec != std::errc() || parsed.ptr != end || weight > 1000) {
    return json_error(400, "weight needs ?value=N with N from 0 to 1000");
  }
  if (std::string problem = call.control.set_weight(pool, backend, weight); !problem.empty()) {
    return json_error(409, problem);
  }
  return std::nullopt;
}

AdminResponse serve_drain(const AdminCall& call) { return change_backend(call, drain); }
AdminResponse serve_enable(const AdminCall& call) { return change_backend(call, enable); }
AdminResponse serve_weight(const AdminCall& call) { return change_backend(call, set_weight); }

// The body of PUT /pools/NAME/backends/ADDR: empty, or {"weight": N} (N from 0 to 1000).
std::optional<uint32_t> weight_from_body(std::string_view body) {
  auto skip_space = [&] {
    while (!body.empty() && (body.front() == ' ' || body.front() == '\t' || body.front() == '\r' ||
                             body.front() == '\n')) {
      body.remove_prefix(1);
    }
  };
  auto take = [&](std::string_view word) {
    skip_space();
    if (!body.starts_with(word)) return false;
    body.remove_prefix(word.size());
    return true;
  };
  skip_space();
  if (body.empty()) return 1;
  uint32_t weight = 0;
  if (!take("{") || !take("\"weight\"") || !take(":")) return std::nullopt;
  skip_space();
  const auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), weight);
  if (error != std::errc() || weight > 1000) return std::nullopt;
  body.remove_prefix(static_cast<size_t>(end - body.data()));
  if (!take("}")) return std::nullopt;
  skip_space();
  if (!body.empty()) return std::nullopt;
  return weight;
}

AdminResponse member_answer(const AdminControl::MemberChange& change, const std::string& pool,
                            const std::string& address) {
  if (change.status >= 400) return json_error(change.status, change.message);
  return {change.status, "application/json",
          "{\"pool\":\"" + pool + "\",\"backend\":\"" + address + "\",\"result\":\"" +
              change.message + "\"}\n"};
}

// PUT /pools/NAME/backends/ADDR: adds ADDR until the next reload (201), or 409 when present.
AdminResponse serve_add(const AdminCall& call) {
  const std::optional<std::string> pool_name = percent_decode(call.parts[1]);
  const std::optional<std::string> text = percent_decode(call.parts[3]);
  if (!pool_name || !text) return json_error(400, "malformed percent-encoding in the path");
  std::string why;
  const std::optional<config::Address> address = config::parse_address(*text, &why);
  if (!address || address->host == "0.0.0.0" || address->host == "::") {
    return json_error(400, "'" + *text + "' is not a backend address (IP:PORT)" +
                               (why.empty() ? "" : ": " + why));
  }
  const std::optional<uint32_t> weight = weight_from_body(call.request.body);
  if (!weight)
    return json_error(400, "the body must be empty or {\"weight\": N}, N from 0 to 1000");
  return member_answer(call.control.add_backend(*pool_name, *address, *weight), *pool_name,
                       address->to_string());
}

// DELETE /pools/NAME/backends/ADDR: drains ADDR, then forgets it (202).
AdminResponse serve_remove(const AdminCall& call) {
  const std::optional<std::string> pool_name = percent_decode(call.parts[1]);
  const std::optional<std::string> text = percent_decode(call.parts[3]);
  if (!pool_name || !text) return json_error(400, "malformed percent-encoding in the path");
  const std::optional<config::Address> address = config::parse_address(*text, nullptr);
  const std::string normal = address ? address->to_string() : *text;
  return member_answer(call.control.remove_backend(*pool_name, normal), *pool_name, normal);
}

AdminResponse serve_status(const AdminCall& call) {
  return {200, "application/json",
          render_status(call.control.snapshot(), call.control.health(), call.info)};
}

AdminResponse serve_metrics(const AdminCall& call) {
  return {200, "text/plain; version=0.0.4; charset=utf-8",
          render_metrics(call.control.snapshot(), call.control.health(), call.info)};
}

AdminResponse serve_ready(const AdminCall& call) {
  if (call.info.stopping) return {503, "text/plain", "stopping\n"};
  return {200, "text/plain", "ready\n"};
}

AdminResponse serve_dashboard(const AdminCall&) {
  return {200, "text/html; charset=utf-8", kAdminDashboardHtml};
}

AdminResponse serve_index(const AdminCall&);

enum class Access {
  kOpen,    // no token: what it serves holds no data
  kRead,    // the token, when set
  kChange,  // the token, when set; and a token off loopback; never from another site's page
};

struct Endpoint {
  std::string_view method;  // "GET" (HEAD too), "POST", "PUT" or "DELETE"
  // Fixed, or with parameters in capitals (NAME, ADDR) that match any one segment.
  std::string_view path;
  std::string_view usage;  // what the index adds after the path ("?value=N")
  Access access;
  AdminResponse (*serve)(const AdminCall& call);
};

// The dashboard page holds no data and a browser cannot send a bearer token when it navigates,
// so GET /dashboard is open; everything the page shows comes from /status, which is not.
constexpr std::array kEndpoints = {
    Endpoint{"GET", "/status", "", Access::kRead, serve_status},
    Endpoint{"GET", "/metrics", "", Access::kRead, serve_metrics},
    Endpoint{"GET", "/ready", "", Access::kRead, serve_ready},
    Endpoint{"GET", "/dashboard", "", Access::kOpen, serve_dashboard},
    Endpoint{"POST", "/pools/NAME/backends/ADDR/drain", "", Access::kChange, serve_drain},
    Endpoint{"POST", "/pools/NAME/backends/ADDR/enable", "", Access::kChange, serve_enable},
    Endpoint{"POST", "/pools/NAME/backends/ADDR/weight", "?value=N", Access::kChange, serve_weight},
    Endpoint{"PUT", "/pools/NAME/backends/ADDR", " {\"weight\": N}", Access::kChange, serve_add},
    Endpoint{"DELETE", "/pools/NAME/backends/ADDR", "", Access::kChange, serve_remove},
    Endpoint{"GET", "/", "", Access::kRead, serve_index},
};

// GET /: every other endpoint, as a client would call it.
AdminResponse serve_index(const AdminCall&) {
  std::string body = "{\"endpoints\":[";
  for (const Endpoint& endpoint : kEndpoints) {
    if (endpoint.serve == serve_index) continue;
    if (body.back() != '[') body += ',';
    body += '"';
    if (endpoint.method != "GET") body.append(endpoint.method).append(" ");
    body.append(endpoint.path).append(endpoint.usage);
    body += '"';
  }
  body += "]}\n";
  return {200, "application/json", std::move(body)};
}

bool is_parameter(std::string_view segment) {
  return !segment.empty() &&
         std::all_of(segment.begin(), segment.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A fixed path matches exactly; one with parameters matches segment by segment, so empty
// segments ("//") are skipped there as split_path() skips them.
bool matches(const Endpoint& endpoint, std::string_view path,
             std::span<const std::string_view> parts) {
  const std::vector<std::string_view> pattern = split_path(endpoint.path);
  if (std::none_of(pattern.begin(), pattern.end(), is_parameter)) return path == endpoint.path;
  if (pattern.size() != parts.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!is_parameter(pattern[i]) && pattern[i] != parts[i]) return false;
  }
  return true;
}

// GET endpoints answer HEAD as well (AdminServer drops the body).
bool allows(const Endpoint& endpoint, std::string_view method) {
  if (endpoint.method == "GET") return method == "GET" || method == "HEAD";
  return method == endpoint.method;
}

// The row for this path and method; else the first row for the path (which answers 405).
const Endpoint* find_endpoint(std::string_view path, std::span<const std::string_view> parts,
                              std::string_view method) {
  const Endpoint* same_path = nullptr;
  for (const Endpoint& endpoint : kEndpoints) {
    if (!matches(endpoint, path, parts)) continue;
    if (allows(endpoint, method)) return &endpoint;
    if (same_path == nullptr) same_path = &endpoint;
  }
  return same_path;
}

}  // namespace

AdminResponse handle_admin_request(const AdminRequest& request, AdminControl& control) {
  const AdminInfo info = control.info();
  const std::vector<std::string_view> parts = split_path(request.path);
  const Endpoint* endpoint = find_endpoint(request.path, parts, request.method);
  const AdminCall call{request, parts, control, info};
  const std::string& token = control.snapshot().config.admin.token;
  if (auto refusal = refuse_rebound_host(request, token, info.admin_on_loopback)) return *refusal;
  if (endpoint != nullptr && endpoint->access == Access::kOpen &&
      allows(*endpoint, request.method)) {
    return endpoint->serve(call);
  }
  const bool read = request.method == "GET" || request.method == "HEAD";
  const bool is_change = (endpoint != nullptr && endpoint->access == Access::kChange) || !read;
  if (auto refusal = refuse_unauthorized(request, token, info.admin_on_loopback, is_change)) {
    return *refusal;
  }
  if (endpoint == nullptr) return json_error(404, "no such endpoint: " + request.path);
  if (!allows(*endpoint, request.method)) {
    return json_error(405, "use " + std::string(endpoint->method));
  }
  return endpoint->serve(call);
}

}  // namespace ringlb
