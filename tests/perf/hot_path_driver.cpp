// The user-space work ringlb does per proxied HTTP request, without the kernel: parse the
// request, pick a backend, write the forwarded head, parse the response, write the client head,
// and move the session's timer. Run under callgrind, its instruction count per request is a
// repeatable figure on these noisy shared machines (issue 8's regression guard).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "balancers/registry.hpp"
#include "core/http/http_parser.hpp"
#include "core/http/http_serializer.hpp"
#include "core/io/timer_wheel.hpp"

namespace {

using namespace ringlb;

constexpr std::string_view kRequest =
    "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n"
    "Accept: */*\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 16:00:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 21\r\nConnection: keep-alive\r\n\r\n"
    "hello from backend 1\n";

// Parses one whole message; returns the body bytes seen, or aborts on any surprise.
size_t parse_message(http::Parser& parser, std::string_view input) {
  size_t body = 0;
  for (;;) {
    size_t consumed = 0;
    const http::ParseEvent event = parser.parse(input, consumed);
    input.remove_prefix(consumed);
    if (event == http::ParseEvent::kBody) body += parser.body().size();
    if (event == http::ParseEvent::kDone) return body;
    if (event == http::ParseEvent::kError || event == http::ParseEvent::kNeedMore) std::abort();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long requests = argc > 1 ? std::atol(argv[1]) : 10000;
  balancers::BalancerInit init;
  init.workers = 1;
  for (const char* address : {"127.0.0.1:9001", "127.0.0.1:9002"}) {
    init.backends.push_back({std::make_shared<health::BackendState>("app", address), 1});
  }
  const auto balancer = balancers::builtin_balancers().make("round_robin", std::move(init));
  http::Parser request(http::Parser::Kind::kRequest, {});
  http::Parser response(http::Parser::Kind::kResponse, {});
  TimerWheel timers(std::chrono::milliseconds(10), 4096, TimerWheel::Clock::time_point{});
  TimerNode timer;
  std::string to_backend;
  std::string to_client;
  size_t checksum = 0;
  for (long i = 0; i < requests; ++i) {
    const auto now = TimerWheel::Clock::time_point{} + std::chrono::microseconds(i * 50);
    timers.schedule(timer, now + std::chrono::seconds(10));
    request.reset();
    parse_message(request, kRequest);
    const uint32_t backend = balancer->pick({.worker = 0, .excluded = {}});
    to_backend.clear();
    http::append_request_head(request.head(), request.head().framing,
                              {"127.0.0.1", "http", "0123456789abcdef0123456789abcdef"},
                              to_backend);
    response.reset();
    checksum += parse_message(response, kResponse);
    to_client.clear();
    http::append_response_head(response.head(), response.head().framing, true, 11, to_client);
    checksum += backend + to_backend.size() + to_client.size();
  }
  timers.cancel(timer);
  std::printf("%ld requests, checksum %zu\n", requests, checksum);
  return 0;
}
