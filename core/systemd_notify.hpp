// The systemd notification protocol (sd_notify(3)) for Type=notify units: READY, RELOADING,
// STOPPING and a one-line STATUS. Without NOTIFY_SOCKET (not started by systemd) every call does
// nothing, so the same binary runs in a terminal, a container or a unit.
#pragma once

#include <string>

namespace ringlb {

struct Snapshot;

// One line for `systemctl status`: "3 listeners, 2 pools, backends up 4/5". Reads each
// backend's live up flag, so calling it again later shows health changes.
std::string service_status(const Snapshot& snapshot);

// Control thread only. Never blocks for long (one datagram to a local socket per call).
class SystemdNotifier {
 public:
  SystemdNotifier();

  // READY=1 with STATUS=`status`: every listener is bound and every worker is running, or a
  // reload has ended (successfully or not).
  void ready(const std::string& status);
  // RELOADING=1 with MONOTONIC_USEC=now, as systemd expects before READY=1 again.
  void reloading();
  // STATUS=`status`, sent only when it differs from the last one sent.
  void status(const std::string& status);
  // STOPPING=1 with STATUS=`status`.
  void stopping(const std::string& status);

  bool enabled() const { return enabled_; }

 private:
  void send(const std::string& message);

  bool enabled_ = false;
  std::string last_status_;
};

}  // namespace ringlb
