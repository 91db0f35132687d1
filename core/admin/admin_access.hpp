// Who may ask the admin API what: the bearer token, loopback-only changes, and the refusals that
// keep a web page in a local browser from reaching the API (DNS rebinding, cross-site forms).
#pragma once

#include <optional>
#include <string>

#include "core/admin/admin_server.hpp"

namespace ringlb {

// {"error":"MESSAGE"} with `status`: how every admin refusal answers.
AdminResponse json_error(unsigned status, const std::string& message);

// Where no token guards a loopback listener, any web page in a browser on this host can reach it
// under a DNS-rebound name of its own, and then read /status like a same-origin page. Such a
// request names that foreign name in Host, so the Host must name loopback on every request.
// (No browser sends a request without Host; scripts that do are let through.)
std::optional<AdminResponse> refuse_rebound_host(const AdminRequest& request,
                                                 const std::string& token, bool loopback_listener);

// Who may do what: the token, when set, on every request; changes from a listener that is not
// on loopback only with a token, and never from another site's page.
std::optional<AdminResponse> refuse_unauthorized(const AdminRequest& request,
                                                 const std::string& token, bool loopback_listener,
                                                 bool is_change);

}  // namespace ringlb
