// What the admin endpoints answer (docs/admin.md): routing, the token, and the runtime
// controls. The server behind it is an AdminControl, so this room's logic knows nothing of threads
// or rings: admin_server.cpp carries the bytes, admin_routes.cpp holds the table of endpoints,
// admin_access.cpp decides who may ask, admin_status.cpp and admin_metrics.cpp render the two
// read-only views.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/admin/admin_server.hpp"
#include "core/probes/health_checker.hpp"
#include "core/runtime/snapshot.hpp"

namespace ringlb {

// One pool's DNS discovery (core/discovery/), as /metrics and /status show it.
struct AdminDnsStatus {
  std::string pool;
  std::string source;     // "SRV _http._tcp.app.example" or "app.example:8080"
  uint64_t lookups = 0;   // refreshes started
  uint64_t failures = 0;  // refreshes that failed and kept the last answer
  uint64_t backends = 0;  // in the last good answer
  bool failing = false;   // the last refresh failed
  std::optional<std::chrono::system_clock::time_point> last_success;
};

// Facts about the process that no snapshot holds.
struct AdminInfo {
  std::string config_path;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point loaded_at;  // the running configuration's
  uint64_t reloads = 0;                             // succeeded since start
  uint64_t reloads_failed = 0;
  bool stopping = false;            // SIGTERM received: /ready answers 503
  bool admin_on_loopback = true;    // admin.listen is a loopback address
  std::vector<AdminDnsStatus> dns;  // pools with [dns]
};

// The running server as the admin API sees it. Control thread only.
class AdminControl {
 public:
  virtual ~AdminControl() = default;
  virtual const Snapshot& snapshot() const = 0;
  virtual const HealthChecker& health() const = 0;
  virtual AdminInfo info() const = 0;
  // `backend` indexes pool.balancer->backends(). Effective on the next pick.
  virtual void set_draining(const Pool& pool, uint32_t backend, bool draining) = 0;
  // Returns an empty string, or why the weight could not be applied.
  virtual std::string set_weight(const Pool& pool, uint32_t backend, uint32_t weight) = 0;
  // PUT and DELETE /pools/NAME/backends/ADDR: a backend added or removed at run time (until the
  // next reload). The answer's status: 201/202 done, 404 no such pool, 409 already present (add),
  // 404 absent (remove); with a message for the JSON body.
  struct MemberChange {
    unsigned status = 0;
    std::string message;
  };
  virtual MemberChange add_backend(const std::string& pool, const config::Address& address,
                                   uint32_t weight) = 0;
  virtual MemberChange remove_backend(const std::string& pool, const std::string& address) = 0;
};

// The self-contained dashboard page (core/admin_dashboard.html, embedded at build time).
extern const char kAdminDashboardHtml[];

AdminResponse handle_admin_request(const AdminRequest& request, AdminControl& control);

// HTTP/2 client connections open now, read as health::active_connections reads the others:
// the closes first, and 0 rather than a wrapped count when a scrape races a worker.
inline uint64_t h2_active_connections(const health::ListenerStats& stats) {
  using Slot = health::ListenerWorkerStats;
  const uint64_t down = stats.sum([](const Slot& s) { return s.h2_active_down.get(); });
  const uint64_t up = stats.sum([](const Slot& s) { return s.h2_active_up.get(); });
  return up > down ? up - down : 0;
}

// The two views, for the handler and for tests.
std::string render_status(const Snapshot& snapshot, const HealthChecker& health,
                          const AdminInfo& info);
std::string render_metrics(const Snapshot& snapshot, const HealthChecker& health,
                           const AdminInfo& info);

}  // namespace ringlb
