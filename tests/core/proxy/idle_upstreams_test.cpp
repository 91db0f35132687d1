// Pooled upstream connections: newest first, expired ones closed, nothing handed out twice, at
// most kMaxIdlePerBackend a backend.
#include "core/proxy/idle_upstreams.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

namespace ringlb {
namespace {

using namespace std::chrono_literals;
using Clock = IdleUpstreams::Clock;

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

int open_fd() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST(IdleUpstreams, ReusesTheNewestConnectionFirst) {
  IdleUpstreams pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  const int older = open_fd();
  const int newer = open_fd();
  pool.put(backend, older, now + 10s);
  pool.put(backend, newer, now + 20s);
  EXPECT_EQ(pool.take(*backend, now), newer);
  EXPECT_EQ(pool.take(*backend, now), older);
  EXPECT_EQ(pool.take(*backend, now), -1);
  close(older);
  close(newer);
}

TEST(IdleUpstreams, ExpiredConnectionsAreClosedNotReused) {
  IdleUpstreams pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  const int fd = open_fd();
  pool.put(backend, fd, now + 1s);
  EXPECT_EQ(pool.take(*backend, now + 2s), -1);
  EXPECT_FALSE(is_open(fd));
}

TEST(IdleUpstreams, SweepClosesOnlyExpired) {
  IdleUpstreams pool;
  auto a = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  auto b = std::make_shared<health::BackendState>("app", "127.0.0.1:2");
  const auto now = Clock::now();
  const int stale = open_fd();
  const int fresh = open_fd();
  pool.put(a, stale, now + 1s);
  pool.put(b, fresh, now + 60s);
  pool.close_expired(now + 5s);
  EXPECT_FALSE(is_open(stale));
  EXPECT_EQ(pool.idle_count(), 1u);
  EXPECT_EQ(pool.take(*b, now + 5s), fresh);
  close(fresh);
}

TEST(IdleUpstreams, ConnectionsToOneBackendAreNeverGivenForAnother) {
  IdleUpstreams pool;
  auto a = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  auto b = std::make_shared<health::BackendState>("app", "127.0.0.1:2");
  const auto now = Clock::now();
  const int fd = open_fd();
  pool.put(a, fd, now + 10s);
  EXPECT_EQ(pool.take(*b, now), -1);
  EXPECT_EQ(pool.take(*a, now), fd);
  close(fd);
}

TEST(IdleUpstreams, BeyondTheCapTheOldestIsClosed) {
  const size_t cap = IdleUpstreams::kMaxIdlePerBackend;
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < cap + 64) GTEST_SKIP() << "RLIMIT_NOFILE is below " << cap + 64;
  IdleUpstreams pool;
  auto backend = std::make_shared<health::BackendState>("app", "127.0.0.1:1");
  const auto now = Clock::now();
  std::vector<int> fds;
  for (size_t i = 0; i <= cap; ++i) {
    fds.push_back(open_fd());
    pool.put(backend, fds.back(), now + 60s);
  }
  EXPECT_EQ(pool.idle_count(), cap);
  EXPECT_FALSE(is_open(fds.front()));
  EXPECT_TRUE(is_open(fds[1]));
  EXPECT_EQ(pool.take(*backend, now), fds.back());
  close(fds.back());
}

}  // namespace
}  // namespace ringlb
