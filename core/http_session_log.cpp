// HttpSession's access log line: one per request, text or JSON, with the timings an operator
// needs to tell a slow backend from a slow client.
#include <cstdio>

#include "core/http_session.hpp"

namespace ringlb {
namespace {

double milliseconds_between(TimerWheel::Clock::time_point from, TimerWheel::Clock::time_point to) {
  if (from == TimerWheel::Clock::time_point{} || to < from) return -1;
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Copies `text` (at most 512 bytes of it) into `out` with quotes and backslashes escaped for
// JSON, so a client's value cannot break the line. The parser has refused control characters.
// Fixed buffers: logging allocates nothing.
template <size_t N>
const char* loggable(std::string_view text, char (&out)[N]) {
  static_assert(N > 2 * 512);
  if (text.empty()) return "-";
  size_t used = 0;
  for (char c : text.substr(0, 512)) {
    if (c == '"' || c == '\\') out[used++] = '\\';
    out[used++] = c;
  }
  out[used] = '\0';
  return out;
}

}  // namespace

void HttpSession::log_access() {
  if (current().logged || !ctx_->access_log.enabled()) return;
  current().logged = true;
  const bool have_head = exchange_ && exchange_->request.head_done();
  const http::Head* head = have_head ? &exchange_->request.head() : nullptr;
  char method[1040];
  char target[1040];
  char request_id[1040];
  const char* upstream =
      current().backend != balancers::kNoBackend ? backend_state().address().c_str() : "-";
  const double connect_ms = milliseconds_between(current().request_started, current().connected_at);
  const double head_ms =
      milliseconds_between(current().request_started, current().response_head_at);
  const double total_ms = milliseconds_between(current().request_started, ctx_->now);
  const char* format = ctx_->access_log.format() == config::LogFormat::kJson
                           ? "{\"type\":\"http\",\"listener\":\"%s\",\"client\":\"%s\","
                             "\"method\":\"%s\",\"target\":\"%s\",\"status\":%u,"
                             "\"bytes_in\":%llu,\"bytes_out\":%llu,\"upstream\":\"%s\","
                             "\"connect_ms\":%.3f,\"head_ms\":%.3f,\"total_ms\":%.3f,"
                             "\"end\":\"%s\",\"request_id\":\"%s\"}"
                           : "http listener=%s client=%s method=%s target=%s status=%u "
                             "bytes_in=%llu bytes_out=%llu upstream=%s connect_ms=%.3f "
                             "head_ms=%.3f total_ms=%.3f end=%s request_id=%s";
  char line[2048];
  std::snprintf(line, sizeof(line), format, listener_->config->name.c_str(), current().client_ip,
                loggable(head ? head->method : "", method),
                loggable(head ? head->target : "", target), current().status,
                static_cast<unsigned long long>(current().bytes_in),
                static_cast<unsigned long long>(current().bytes_out), upstream, connect_ms, head_ms,
                total_ms, current().end_cause[0] ? current().end_cause : "done",
                loggable(current().request_id, request_id));
  ctx_->access_log.append(line);
}

}  // namespace ringlb
