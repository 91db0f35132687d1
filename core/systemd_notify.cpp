// sd_notify messages from libsystemd; a failure to notify is logged once and never stops ringlb.
#include "core/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include "core/base/log.hpp"
#include "core/runtime/snapshot.hpp"

namespace ringlb {

std::string service_status(const Snapshot& snapshot) {
  size_t backends = 0;
  size_t up = 0;
  for (const auto& pool : snapshot.pools) {
    for (const balancers::BalancedBackend& backend : pool->balancer->backends()) {
      ++backends;
      if (backend.state->up()) ++up;
    }
  }
  const auto plural = [](size_t count, const char* noun) {
    return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
  };
  return plural(snapshot.listeners.size(), "listener") + ", " +
         plural(snapshot.pools.size(), "pool") + ", backends up " + std::to_string(up) + "/" +
         std::to_string(backends);
}

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
}

void SystemdNotifier::ready(const std::string& status) {
  last_status_ = status;
  send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ull +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000ull;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
}

void SystemdNotifier::status(const std::string& status) {
  if (status == last_status_) return;
  last_status_ = status;
  send("STATUS=" + status);
}

void SystemdNotifier::stopping(const std::string& status) {
  last_status_ = status;
  send("STOPPING=1\nSTATUS=" + status);
}

void SystemdNotifier::send(const std::string& message) {
  if (!enabled_) return;
  const int result = sd_notify(0, message.c_str());
  if (result < 0) {
    LOG_WARN("cannot notify systemd (NOTIFY_SOCKET=%s): %s", std::getenv("NOTIFY_SOCKET"),
             std::strerror(-result));
    enabled_ = false;  // once is enough: the service manager is gone or misconfigured
  }
}

}  // namespace ringlb
