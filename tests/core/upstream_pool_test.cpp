// Pooled upstream connections: newest first, expired ones closed, nothing handed out twice, and
// never one the backend wrote to or closed while it was idle.
#include "core/upstream_pool.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ringlb {
namespace {

using namespace std::chrono_literals;
using Clock = UpstreamPool::Clock;

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

// A connected stream socket pair: the pool holds one end, the other plays the backend and stays
// open (so the pooled end is clean) until the test writes on it or closes it.
struct Connection {
  int pooled = -1;   // what the pool holds
  int backend = -1;  // the backend's end
  Connection() {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0) {
      pooled = ends[0];
      backend = ends[1];
    }
  }
  ~Connection() {
    if (backend >= 0) close(backend);
  }
};

uint64_t discarded(const health::BackendState& backend) {
  return backend.stats().sum(
      [](const health::BackendWorkerStats& s) { return s.pooled_discarded.get(); });
}

TEST(UpstreamPool, ReusesTheNewestConnectionFirst) {
  UpstreamPool pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  Connection older;
  Connection newer;
  pool.put(backend, older.pooled, now + 10s);
  pool.put(backend, newer.pooled, now + 20s);
  EXPECT_EQ(pool.take(*backend, now, 0), newer.pooled);
  EXPECT_EQ(pool.take(*backend, now, 0), older.pooled);
  EXPECT_EQ(pool.take(*backend, now, 0), -1);
  close(older.pooled);
  close(newer.pooled);
}

TEST(UpstreamPool, ExpiredConnectionsAreClosedNotReused) {
  UpstreamPool pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  Connection expired;
  pool.put(backend, expired.pooled, now + 1s);
  EXPECT_EQ(pool.take(*backend, now + 2s, 0), -1);
  EXPECT_FALSE(is_open(expired.pooled));
}

TEST(UpstreamPool, SweepClosesOnlyExpired) {
  UpstreamPool pool;
  auto a = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  auto b = std::make_shared<health::BackendState>("app", "127.0.0.1:2");
  const auto now = Clock::now();
  Connection stale;
  Connection fresh;
  pool.put(a, stale.pooled, now + 1s);
  pool.put(b, fresh.pooled, now + 60s);
  pool.close_expired(now + 5s);
  EXPECT_FALSE(is_open(stale.pooled));
  EXPECT_EQ(pool.idle_count(), 1u);
  EXPECT_EQ(pool.take(*b, now + 5s, 0), fresh.pooled);
  close(fresh.pooled);
}

TEST(UpstreamPool, ConnectionsToOneBackendAreNeverGivenForAnother) {
  UpstreamPool pool;
  auto a = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  auto b = std::make_shared<health::BackendState>("app", "127.0.0.1:2");
  const auto now = Clock::now();
  Connection to_a;
  pool.put(a, to_a.pooled, now + 10s);
  EXPECT_EQ(pool.take(*b, now, 0), -1);
  EXPECT_EQ(pool.take(*a, now, 0), to_a.pooled);
  close(to_a.pooled);
}

TEST(UpstreamPool, AConnectionTheBackendWroteOnWhileIdleIsClosedNotReused) {
  UpstreamPool pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  Connection clean;
  Connection written;
  pool.put(backend, clean.pooled, now + 10s);
  pool.put(backend, written.pooled, now + 10s);  // the newest: looked at first
  ASSERT_EQ(write(written.backend, "HTTP/1.1 200 OK\r\n", 17), 17);
  EXPECT_EQ(pool.take(*backend, now, 0), clean.pooled) << "the one with unsolicited bytes";
  EXPECT_FALSE(is_open(written.pooled));
  EXPECT_EQ(discarded(*backend), 1u);
  EXPECT_EQ(pool.take(*backend, now, 0), -1);
  close(clean.pooled);
}

TEST(UpstreamPool, AConnectionTheBackendClosedWhileIdleIsClosedNotReused) {
  UpstreamPool pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  Connection closed;
  pool.put(backend, closed.pooled, now + 10s);
  close(closed.backend);
  closed.backend = -1;
  EXPECT_EQ(pool.take(*backend, now, 0), -1);
  EXPECT_FALSE(is_open(closed.pooled));
  EXPECT_EQ(discarded(*backend), 1u);
}

TEST(UpstreamPool, ACleanIdleConnectionIsReusedAndCountsNothing) {
  UpstreamPool pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  Connection clean;
  pool.put(backend, clean.pooled, now + 10s);
  EXPECT_EQ(pool.take(*backend, now, 0), clean.pooled);
  EXPECT_EQ(discarded(*backend), 0u);
  close(clean.pooled);
}

}  // namespace
}  // namespace ringlb
