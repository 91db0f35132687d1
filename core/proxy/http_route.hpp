// Choosing a listener's pool for a request: the first route whose host and path prefix match,
// else the listener's own pool. Routes compare the normalized path (http::routing_path), while
// the backend gets the target as the client sent it.
#pragma once

#include <string>

#include "core/http/http_message.hpp"
#include "core/runtime/snapshot.hpp"

namespace ringlb {

// `scratch` holds the normalized path when the target needs one (kept per exchange so its
// capacity is reused). nullptr when the path cannot be decoded (a bad %XX or a %00): answer 400.
const Pool* pick_pool(const Listener& listener, const http::Head& head, std::string& scratch);

}  // namespace ringlb
