// The c-ares driver: one channel per pool (its own resolvers and timeout), every channel's
// sockets in one epoll set whose descriptor the control thread's ring polls, so a lookup never
// blocks the control loop (docs/architecture.md, "Discovery"). Control thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "config/config.hpp"
#include "core/discovery/dns_message.hpp"
#include "core/discovery/dns_plan.hpp"

struct ares_channeldata;

namespace ringlb::discovery {

// What one question got. kEmpty is a successful answer without records (NOERROR with none, or
// NXDOMAIN): the name has no such records now. kFailed is everything else (timeout, SERVFAIL,
// REFUSED, a refused connection, a malformed reply): the question has no answer.
struct DnsResult {
  enum class Kind { kRecords, kEmpty, kFailed };
  Kind kind = Kind::kFailed;
  DnsMessage message;  // kRecords
  std::string error;   // kFailed: for the log ("timeout", "garbage: ...")
};

class DnsChannel;

// The epoll set of every channel's sockets. Outlives its channels (they unregister on close).
class DnsSockets {
 public:
  DnsSockets();
  ~DnsSockets();
  DnsSockets(const DnsSockets&) = delete;
  DnsSockets& operator=(const DnsSockets&) = delete;

  // Readable when a c-ares socket is ready: poll it (POLLIN) on the ring, then call process().
  int fd() const { return epoll_fd_; }
  // Hands each ready socket to its channel. Never blocks.
  void process();
  // c-ares's socket-state callback: watch `socket` for reading and/or writing, or forget it.
  void watch(int socket, bool readable, bool writable, DnsChannel* owner);

 private:
  int epoll_fd_ = -1;
  std::unordered_map<int, DnsChannel*> owners_;
};

class DnsChannel {
 public:
  using Done = std::function<void(DnsResult)>;
  using Clock = std::chrono::steady_clock;

  // A channel asking `dns.resolvers` (or /etc/resolv.conf's), one try of `dns.timeout` each.
  // nullptr with `error` set when c-ares refuses.
  static std::unique_ptr<DnsChannel> open(const config::DnsDiscoveryConfig& dns,
                                          DnsSockets& sockets, std::string& error);
  // Ends the lookups in flight without calling their Done: a callback never outlives its owner.
  ~DnsChannel();
  DnsChannel(const DnsChannel&) = delete;
  DnsChannel& operator=(const DnsChannel&) = delete;

  // Starts a lookup; `done` runs from process()/process_timeouts(), or from ask() itself when
  // c-ares refuses the question at once (a name it cannot encode).
  void ask(const DnsQuestion& question, Done done);
  // A socket of this channel is ready.
  void process(int socket, bool readable, bool writable);
  // Ends the lookups whose time is up (their Done gets kFailed "timeout").
  void process_timeouts();
  // When the next lookup times out, or nullopt when none is in flight.
  std::optional<Clock::duration> next_timeout() const;
  bool busy() const { return in_flight_ > 0; }

 private:
  explicit DnsChannel(DnsSockets& sockets) : sockets_(sockets) {}
  static void on_reply(void* arg, int status, int timeouts, unsigned char* wire, int length);

  DnsSockets& sockets_;
  ares_channeldata* channel_ = nullptr;
  int in_flight_ = 0;
  bool closing_ = false;
};

}  // namespace ringlb::discovery
