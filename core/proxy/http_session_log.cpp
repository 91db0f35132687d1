// HttpSession's access log line: one per request, text or JSON, with the timings an operator
// needs to tell a slow backend from a slow client.
#include <arpa/inet.h>

#include <cstdio>

#include "core/proxy/access_log.hpp"
#include "core/proxy/http_session.hpp"

namespace ringlb {
namespace {

double milliseconds_between(TimerWheel::Clock::time_point from, TimerWheel::Clock::time_point to) {
  if (from == TimerWheel::Clock::time_point{} || to < from) return -1;
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

void HttpSession::count_request() {
  const RequestState& request = current();
  const auto since_start = [&](TimerWheel::Clock::time_point at) {
    return std::chrono::duration_cast<std::chrono::microseconds>(at - request.request_started);
  };
  health::ListenerWorkerStats& listener = listener_stats();
  listener.requests.add();
  if (request.status != 0) listener.responses[health::status_class_index(request.status)].add();
  listener.bytes_from_client.add(request.bytes_from_client);
  listener.bytes_to_client.add(request.bytes_to_client);
  listener.bytes_spliced.add(request.bytes_spliced);
  listener.request_duration.observe(since_start(ctx_->now));
  if (!request.attempt.has_backend()) return;
  health::BackendWorkerStats& backend = backend_state().stats(ctx_->worker_id);
  backend.requests.add();
  if (request.response_head_at != TimerWheel::Clock::time_point{}) {
    backend.responses[health::status_class_index(request.status)].add();
    backend.response_head_time.observe(since_start(request.response_head_at));
  }
  backend.bytes_from_client.add(request.bytes_from_client);
  backend.bytes_to_client.add(request.bytes_to_client);
  if (!request.backend_reused && request.connected_at != TimerWheel::Clock::time_point{}) {
    backend.connect_time.observe(since_start(request.connected_at));
  }
}

void HttpSession::log_access() {
  if (current().logged) return;
  current().logged = true;
  count_request();
  if (!ctx_->access_log.enabled()) return;
  const bool have_head = exchange_ && exchange_->request.head_done();
  const http::Head* head = have_head ? &exchange_->request.head() : nullptr;
  const config::LogFormat log_format = ctx_->access_log.format();
  // Every string is escaped (client values, and the listener's name and the end cause, which
  // hold spaces), so each reads back as one value. Fixed buffers: logging allocates nothing.
  const auto escaped = [log_format](std::string_view value, std::span<char> out) {
    return escape_log_value(value, log_format, out);
  };
  char listener[256];
  char method[128];
  char target[1040];
  char end[256];
  char request_id[6 * sizeof(current().request_id)];
  const char* upstream = current().attempt.has_backend() ? backend_state().address().c_str() : "-";
  const double connect_ms = milliseconds_between(current().request_started, current().connected_at);
  const double head_ms =
      milliseconds_between(current().request_started, current().response_head_at);
  const double total_ms = milliseconds_between(current().request_started, ctx_->now);
  const char* format =
      log_format == config::LogFormat::kJson
          ? "{\"type\":\"http\",\"listener\":\"%s\",\"client\":\"%s\","
            "\"method\":\"%s\",\"target\":\"%s\",\"status\":%u,"
            "\"bytes_in\":%llu,\"bytes_out\":%llu,\"upstream\":\"%s\","
            "\"connect_ms\":%.3f,\"head_ms\":%.3f,\"total_ms\":%.3f,"
            "\"end\":\"%s\",\"request_id\":\"%s\","
            "\"protocol\":\"%s\",\"stream\":%s}"
          : "http listener=%s client=%s method=%s target=%s status=%u "
            "bytes_in=%llu bytes_out=%llu upstream=%s connect_ms=%.3f "
            "head_ms=%.3f total_ms=%.3f end=%s request_id=%s protocol=%s stream=%s";
  // HTTP/2 streams name their stream id; HTTP/1.x has none ("-", or null in JSON).
  const char* protocol = role_ == Role::kH2Stream                 ? "HTTP/2.0"
                         : head != nullptr && head->version == 10 ? "HTTP/1.0"
                                                                  : "HTTP/1.1";
  char stream[16] = "-";
  if (role_ == Role::kH2Stream) {
    std::snprintf(stream, sizeof(stream), "%d", stream_->id);
  } else if (log_format == config::LogFormat::kJson) {
    std::snprintf(stream, sizeof(stream), "null");
  }
  // Larger than the sum of the buffers above and the fixed text: a line is never cut.
  char line[4096];
  std::snprintf(
      line, sizeof(line), format, escaped(listener_->config->name, listener), client_ip_,
      escaped(head ? head->method : "", method), escaped(head ? head->target : "", target),
      current().status, static_cast<unsigned long long>(current().bytes_from_client),
      static_cast<unsigned long long>(current().bytes_to_client), upstream, connect_ms, head_ms,
      total_ms, escaped(current().end_cause[0] ? current().end_cause : "done", end),
      escaped(current().request_id, request_id), protocol, stream);
  ctx_->access_log.append(line);
}

// Once per connection: inet_ntop costs ~3,500 instructions, a fifth of a keep-alive request's
// user-space work when it ran per request.
void HttpSession::format_client_ip() {
  if (client_address_.sin6_family == AF_INET6) {
    inet_ntop(AF_INET6, &client_address_.sin6_addr, client_ip_, sizeof(client_ip_));
  } else {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(client_address_);
    inet_ntop(AF_INET, &in4.sin_addr, client_ip_, sizeof(client_ip_));
  }
}

}  // namespace ringlb
