// The typed configuration: what config/parser produces from TOML and what the rest of ringlb
// reads. Plain values only (no toml++ here), so any folder may include this header cheaply.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cidr.hpp"

namespace ringlb::config {

using Duration = std::chrono::milliseconds;

// The longest duration any setting accepts; longer ones are refused with their position. Every
// deadline is `now + setting` on a clock counting int64 nanoseconds, so a setting near that
// range (~292 years) would wrap into the past. 24 days also fits the 32-bit millisecond timers
// HAProxy and nginx use (2^31 ms is 24.8 days), so a limit copied from either fits here.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 24);

// The largest `max_header_bytes`: a request head is held whole in memory while it is parsed.
// 1 MiB is 32 times the default; a head larger than that is an attack or a bug.
inline constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 20;

enum class Protocol { kHttp, kTcp };
enum class LogLevel { kError, kWarn, kInfo, kDebug };
enum class LogFormat { kText, kJson };

// The settings that take one word from a short list are enums, each with its words in enum
// order: the loader reads them, and word() spells one back (status pages, messages).
// [pools.NAME.health] check: the probe a pool's backends get.
enum class ProbeKind { kHttp, kTcp, kNone };
inline constexpr std::array<std::string_view, 3> kProbeKindWords = {"http", "tcp", "none"};
// [pools.NAME] panic: what a pool in panic picks. kFail answers 503; kServeAll picks among every
// backend not drained.
enum class PanicMode { kFail, kServeAll };
inline constexpr std::array<std::string_view, 2> kPanicModeWords = {"fail", "serve_all"};
// [pools.NAME.health] initial_state: a backend new to a checked pool starts up, or unknown
// (ineligible until its first check passes).
enum class ProxyProtocolSend { kOff, kV1, kV2 };
inline constexpr std::array<std::string_view, 3> kProxyProtocolSendWords = {"off", "v1", "v2"};

enum class InitialState { kUp, kUnknown };
inline constexpr std::array<std::string_view, 2> kInitialStateWords = {"up", "unknown"};

constexpr std::string_view word(ProbeKind kind) {
  return kProbeKindWords[static_cast<size_t>(kind)];
}
constexpr std::string_view word(PanicMode mode) {
  return kPanicModeWords[static_cast<size_t>(mode)];
}
constexpr std::string_view word(InitialState state) {
  return kInitialStateWords[static_cast<size_t>(state)];
}

// Where a value was written, so later checks (reload, balancer validation) can point at it.
struct SourcePosition {
  uint32_t line = 0;
  uint32_t column = 0;
};

// An IP literal and a port. Hostnames are refused at parse time: ringlb never resolves names.
struct Address {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0" (no brackets)
  uint16_t port = 0;
  bool ipv6 = false;

  // "127.0.0.1:8080" or "[::1]:8080"
  std::string to_string() const;
  // 127.x, ::1 or localhost: reachable only from this host.
  bool is_loopback() const;
  friend bool operator==(const Address&, const Address&) = default;
};

struct RuntimeConfig {
  uint32_t workers = 0;  // 0 = one per CPU core
  uint64_t max_connections = 100000;
  // Full TLS handshakes with clients started per second, over all workers (HAProxy's
  // maxsslrate); beyond it a new handshake is refused before it costs a signature. 0 = no limit.
  uint64_t max_tls_handshakes_per_second = 1000;
  Duration grace_period = std::chrono::seconds(30);
  std::string user;  // empty = do not change user
  // Where `user` was written (else where it would go), for the refusals that depend on who
  // starts ringlb (core/privileges), which `--check` reports too.
  SourcePosition user_position{1, 1};
};

struct AdminConfig {
  std::optional<Address> listen;  // absent = no admin port
  std::string token;
};

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  std::string access = "stdout";  // "stdout", "off", or a file path
  LogFormat format = LogFormat::kText;
  // Where `access` was written (else where it would go), for the refusals of the file at start
  // and reload, which name the setting as `--check` does.
  SourcePosition access_position{1, 1};
};

struct ListenerTimeouts {
  Duration header = std::chrono::seconds(10);
  Duration client_idle = std::chrono::seconds(60);
  // A client's whole TLS handshake, from accept to its Finished (nginx ssl_handshake_timeout,
  // HAProxy timeout client-hs): bytes that trickle in do not extend it.
  Duration tls_handshake = std::chrono::seconds(10);
};

struct ListenerLimits {
  uint64_t max_header_bytes = 32 * 1024;
  uint64_t max_body_bytes = 0;  // 0 = unlimited
  // Keep request fields with '_' in their name; by default they are dropped (nginx's
  // underscores_in_headers), as CGI-style backends read X_Forwarded_For as X-Forwarded-For.
  bool underscores_in_headers = false;
};

struct Route {
  std::string host;         // exact or "*.suffix"; empty = any
  std::string path_prefix;  // empty = any
  std::string pool;
  SourcePosition position;
};

struct TlsCertificate {
  std::string cert;
  std::string key;
  // The files' bytes, read once by the loader when it checks them (config/tls_files); the TLS
  // contexts are built from these, never from a second read of the paths.
  std::string cert_pem;
  std::string key_pem;
};

struct ListenerTls {
  std::vector<TlsCertificate> certificates;
  std::string min_version = "1.2";
  std::vector<std::string> alpn = {"http/1.1"};
};

// [listeners.NAME.http2]: HTTP/2 toward clients, on http listeners only (docs/configuration.md).
struct ListenerHttp2 {
  // TLS: "h2" offered first by ALPN (when `tls.alpn` is not written); plain: the h2 preface is
  // detected (prior knowledge, h2c). false: HTTP/1.1 only, and the preface is answered 505.
  bool enabled = true;
  uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS; 1-1000
  // SETTINGS_INITIAL_WINDOW_SIZE: request body a stream may send ahead of its backend reading it.
  uint64_t initial_window = 64 * 1024;  // 16KiB-16MiB
  // Token buckets per connection, refilled at this rate per second; empty: GOAWAY
  // ENHANCE_YOUR_CALM. Resets: client RST_STREAMs and stream errors (Rapid Reset, MadeYouReset).
  uint32_t max_resets_per_second = 100;
  uint32_t max_control_frames_per_second = 100;  // SETTINGS and PING, each
  uint32_t max_empty_frames_per_second = 100;    // DATA with no payload nor END_STREAM
};

struct ListenerConfig {
  std::string name;
  Address bind;
  // An IPv6 bind takes IPv6 clients only (IPV6_V6ONLY). The default, false, makes "[::]:PORT"
  // dual-stack, IPv4 clients included (nginx's ipv6only=off, HAProxy's v4v6).
  bool v6only = false;
  Protocol protocol = Protocol::kHttp;
  std::string pool;
  ListenerTimeouts timeouts;
  ListenerLimits limits;
  std::vector<Route> routes;
  std::optional<ListenerTls> tls;
  ListenerHttp2 http2;
  // PROXY protocol (haproxy's proxy-protocol.txt): every connection must open with a v1 or v2
  // header, and only from these sources; others are closed (core/proxy/proxy_header_session.hpp).
  bool proxy_protocol = false;
  std::vector<Cidr> proxy_protocol_from;
  SourcePosition position;
};

struct BackendConfig {
  Address address;
  uint32_t weight = 1;
  SourcePosition position;
};

struct HealthConfig {
  ProbeKind check = ProbeKind::kNone;
  std::string path = "/healthz";
  std::string host;  // the Host header of http checks; "" = the backend's address
  std::string expect_status = "200-399";
  std::string expect_body;  // a substring the body must hold; "" = any body
  Duration interval = std::chrono::seconds(2);
  Duration timeout = std::chrono::seconds(1);
  uint32_t rise = 2;
  uint32_t fall = 3;
  uint32_t jitter = 10;  // percent: each wait is interval × (1 ± jitter/100)
  // While a rise or fall is under way / while down. The loader fills them from `interval`
  // (half, double) when the file does not set them.
  Duration fast_interval = std::chrono::seconds(1);
  Duration down_interval = std::chrono::seconds(4);
  InitialState initial_state = InitialState::kUp;
};

// [pools.NAME.passive]: ejection on the signals of real traffic. Absent = off.
struct PassiveConfig {
  uint32_t consecutive_failures = 5;  // failed connects or resets in a row (and 5xx if counted)
  Duration ejection_time = std::chrono::seconds(30);       // the first ejection; grows on repeats
  Duration max_ejection_time = std::chrono::seconds(300);  // the cap
  uint32_t max_ejected_percent = 50;  // of the pool's backends; at least one may always go
  bool count_5xx = false;             // consecutive 5xx responses eject too (http)
};

struct PoolTls {
  bool verify = true;
  std::string ca;
  std::string sni;
  std::string ca_pem;  // the bytes of `ca`, read once by the loader (as TlsCertificate's)
};

struct PoolTimeouts {
  Duration connect = std::chrono::seconds(3);
  Duration response = std::chrono::seconds(30);
  Duration idle = std::chrono::seconds(60);
};

// Limits on the balancer settings, so a typo cannot make a table of gigabytes.
inline constexpr uint32_t kMaxMaglevTableSize = 16777213;  // the largest prime below 2^24
inline constexpr uint32_t kMaxRingPointsPerWeight = 10000;
inline constexpr uint64_t kMaxRingPoints = uint64_t{1} << 24;  // over the whole ring
inline constexpr uint32_t kMaxChoices = 16;

// [pools.NAME.dns]: the pool's backends from DNS (core/discovery/), re-resolved every `refresh`.
// Exactly one of `name` (A and AAAA records, each at `port`) or `srv` (SRV records: ports and
// weights from DNS, targets resolved to A/AAAA).
struct DnsDiscoveryConfig {
  std::string name;
  std::string srv;
  uint16_t port = 0;
  Duration refresh = std::chrono::seconds(5);  // jittered; a shorter TTL wins, down to 1s
  Duration timeout = std::chrono::seconds(2);  // one lookup; a failure keeps the last answer
  std::vector<Address> resolvers;              // empty = /etc/resolv.conf
  SourcePosition position;
};

// The shortest re-resolution interval, whatever `refresh` or a TTL says.
inline constexpr Duration kMinDnsRefresh = std::chrono::seconds(1);

struct PoolConfig {
  std::string name;
  std::string balance = "round_robin";
  std::string hash_key;                // client_ip | uri | header:NAME | cookie:NAME
  std::string hash_method = "maglev";  // maglev | ring
  uint32_t maglev_table_size = 65537;  // a prime: the slots of the Maglev table
  uint32_t ring_points_per_weight = 160;
  uint32_t hash_balance_factor = 0;  // percent of the mean load one backend may take; 0 = no bound
  uint32_t choices = 0;  // least_connections: 0 = every backend, d = least loaded of d random ones
  std::vector<BackendConfig> backends;
  std::optional<DnsDiscoveryConfig> dns;  // more backends, from DNS at run time
  // `backends_file`: a watched file of `backends = [...]` (core/discovery/backends_file.hpp),
  // resolved against the configuration's directory; "" = none. `file_backends` is what it held
  // when the configuration was loaded.
  std::string backends_file;
  SourcePosition backends_file_position;
  std::vector<BackendConfig> file_backends;
  std::optional<HealthConfig> health;
  std::optional<PassiveConfig> passive;
  // Panic: when fewer than this percent of the backends are eligible, `panic` decides. 0 = never.
  uint32_t panic_threshold_percent = 0;
  PanicMode panic = PanicMode::kFail;
  Duration slow_start = Duration(0);  // ramp a returning backend's weight over this; 0 = off
  std::optional<PoolTls> tls;
  PoolTimeouts timeouts;
  // The PROXY protocol header written first on each new backend connection (L4 and HTTP).
  ProxyProtocolSend send_proxy_protocol = ProxyProtocolSend::kOff;
  SourcePosition position;
};

struct Config {
  std::string path;  // the file it came from
  RuntimeConfig runtime;
  AdminConfig admin;
  LogConfig log;
  std::vector<ListenerConfig> listeners;  // in file order
  std::vector<PoolConfig> pools;          // in file order

  const PoolConfig* find_pool(const std::string& name) const;
};

}  // namespace ringlb::config
