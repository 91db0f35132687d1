// A running server as /metrics and /status see it, without sockets or threads: one http listener
// "web" with two workers' counter slots, no pools, and a health checker that watches nothing.
// Tests bump the slots as workers would and read the rendered text.
#pragma once

#include <memory>
#include <string>

#include "core/admin/admin_api.hpp"

namespace ringlb {

class AdminViewsFixture {
 public:
  AdminViewsFixture() {
    config::ListenerConfig web;
    web.name = "web";
    web.bind = config::Address{"127.0.0.1", 8080, false};
    web.protocol = config::Protocol::kHttp;
    web.pool = "app";
    snapshot_.workers = 2;
    snapshot_.config.listeners.push_back(web);
    Listener listener;
    listener.config = &snapshot_.config.listeners.front();
    listener.stats = std::make_shared<health::ListenerStats>(snapshot_.workers);
    snapshot_.listeners.push_back(listener);
  }

  // Worker `worker`'s counters on "web": the one writer of that slot.
  health::ListenerWorkerStats& worker(uint32_t worker) {
    return snapshot_.listeners.front().stats->at(worker);
  }
  std::string metrics() const { return render_metrics(snapshot_, health_, info_); }
  std::string status() const { return render_status(snapshot_, health_, info_); }

 private:
  Snapshot snapshot_;
  Ring ring_;  // never set up: with no pool to check, the checker submits nothing
  health::BackendRegistry backends_;
  HealthChecker health_{ring_, backends_, [] {}};
  AdminInfo info_;
};

}  // namespace ringlb
