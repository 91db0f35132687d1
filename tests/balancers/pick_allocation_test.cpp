// A pick allocates nothing (docs/architecture.md), measured: this binary replaces the global
// operator new to count every allocation, so it runs apart from the other balancer tests.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <ostream>

#include "balancers/hash_key.hpp"
#include "balancers/registry.hpp"
#include "tests/balancers/pool_helpers.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};

void* counted(std::size_t size, std::size_t alignment) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* memory = nullptr;
  if (posix_memalign(&memory, std::max(alignment, sizeof(void*)), size == 0 ? 1 : size) != 0) {
    throw std::bad_alloc();
  }
  return memory;
}
}  // namespace

void* operator new(std::size_t size) { return counted(size, alignof(std::max_align_t)); }
void* operator new[](std::size_t size) { return counted(size, alignof(std::max_align_t)); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  return counted(size, static_cast<std::size_t>(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return counted(size, static_cast<std::size_t>(alignment));
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete(void* memory, std::align_val_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::align_val_t) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t, std::align_val_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t, std::align_val_t) noexcept { std::free(memory); }

namespace ringlb::balancers {
namespace {

struct Case {
  const char* name;
  const char* balance;
  void (*configure)(BalancerInit&);
};

const Case kCases[] = {
    {"round_robin", "round_robin", [](BalancerInit&) {}},
    {"least_connections", "least_connections", [](BalancerInit&) {}},
    {"least_connections_2_choices", "least_connections", [](BalancerInit& i) { i.choices = 2; }},
    {"random", "random", [](BalancerInit&) {}},
    {"maglev", "consistent_hash", [](BalancerInit&) {}},
    {"ring", "consistent_hash", [](BalancerInit& i) { i.hash_method = HashMethod::kRing; }},
    {"maglev_bounded", "consistent_hash", [](BalancerInit& i) { i.hash_balance_factor = 125; }},
};

void PrintTo(const Case& algorithm, std::ostream* out) { *out << algorithm.name; }

std::string case_name(const ::testing::TestParamInfo<Case>& algorithm) {
  return algorithm.param.name;
}

class PickAllocation : public ::testing::TestWithParam<Case> {};
INSTANTIATE_TEST_SUITE_P(Algorithms, PickAllocation, ::testing::ValuesIn(kCases), case_name);

TEST_P(PickAllocation, APickAllocatesNothing) {
  BalancerInit init = address_pool(100);
  init.hash_key = parse_hash_key("client_ip");
  GetParam().configure(init);
  std::unique_ptr<Balancer> balancer = builtin_balancers().make(GetParam().balance, init);
  // Some load, a backend down and a retry, so the slower paths run too.
  for (uint32_t i = 0; i < 100; i += 3) balancer->backends()[i].state->on_start();
  balancer->backends()[5].state->set_up(false);
  const uint32_t tried[] = {7, 8};
  const uint64_t before = g_allocations.load();
  uint64_t checksum = 0;
  for (uint64_t i = 0; i < 10000; ++i) {
    checksum += balancer->pick({.worker = 0, .excluded = tried, .key_hash = i * 0x9e37ULL});
    checksum += balancer->pick({.worker = 0, .excluded = {}});  // keyless
  }
  const uint64_t allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0u) << GetParam().name;
  EXPECT_GT(checksum, 0u);
}

class HeaderRequest : public RequestView {
 public:
  std::span<const uint8_t> client_ip() const override { return ip_; }
  std::string_view target() const override { return "/a/b?c"; }
  std::optional<std::string_view> header(std::string_view name, size_t nth) const override {
    if (nth > 0) return std::nullopt;
    return name == "Cookie" ? "a=1; session=abc" : "user-42";
  }

 private:
  uint8_t ip_[4] = {10, 1, 2, 3};
};

TEST(KeyExtraction, AllocatesNothing) {
  const HashKeySpec specs[] = {*parse_hash_key("client_ip"), *parse_hash_key("uri"),
                               *parse_hash_key("header:X-User"), *parse_hash_key("cookie:session")};
  HeaderRequest request;
  const uint64_t before = g_allocations.load();
  uint64_t checksum = 0;
  for (int i = 0; i < 1000; ++i) {
    for (const HashKeySpec& spec : specs) checksum += request_key_hash(spec, request).value_or(0);
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_NE(checksum, 0u);
}

}  // namespace
}  // namespace ringlb::balancers
