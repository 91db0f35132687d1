// The start-up probe: sysctl, ring creation (seccomp, kernel age), opcodes, buffer rings.
#include "core/uring_support.hpp"

#include <liburing.h>
#include <sys/utsname.h>

#include <array>
#include <cstring>
#include <fstream>

namespace ringlb {
namespace {

struct NeededOp {
  int opcode;
  const char* name;
};

constexpr std::array kNeededOps = {
    NeededOp{IORING_OP_ACCEPT, "accept"},       NeededOp{IORING_OP_CONNECT, "connect"},
    NeededOp{IORING_OP_RECV, "recv"},           NeededOp{IORING_OP_SEND, "send"},
    NeededOp{IORING_OP_SHUTDOWN, "shutdown"},   NeededOp{IORING_OP_CLOSE, "close"},
    NeededOp{IORING_OP_ASYNC_CANCEL, "cancel"}, NeededOp{IORING_OP_LINK_TIMEOUT, "link_timeout"},
    NeededOp{IORING_OP_READ, "read"},
};

std::string kernel_release() {
  utsname name{};
  if (uname(&name) != 0) return "unknown";
  return name.release;
}

std::optional<std::string> sysctl_problem() {
  std::ifstream file("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  if (!(file >> disabled) || disabled == 0) return std::nullopt;
  if (disabled == 2) {
    return "io_uring is disabled (kernel.io_uring_disabled=2); "
           "fix: sysctl -w kernel.io_uring_disabled=0";
  }
  return std::nullopt;  // 1: allowed for root and io_uring_group; ring creation tells below
}

std::optional<std::string> ring_creation_problem(int error) {
  if (error == -EPERM) {
    return "io_uring_setup was refused (EPERM): kernel.io_uring_disabled=1 without the "
           "io_uring_group, or a seccomp filter (container runtime, systemd SystemCallFilter); "
           "fix: allow io_uring_setup, io_uring_enter and io_uring_register";
  }
  if (error == -ENOSYS) {
    return "io_uring is not available (ENOSYS): kernel " + kernel_release() +
           " is too old or built without it, or seccomp blocks it; ringlb needs Linux 6.1+";
  }
  return std::string("io_uring_setup failed: ") + std::strerror(-error);
}

std::optional<std::string> missing_opcode(io_uring& ring) {
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) return "io_uring probe failed: kernel " + kernel_release() + " is too old";
  std::optional<std::string> problem;
  for (const NeededOp& op : kNeededOps) {
    if (!io_uring_opcode_supported(probe, op.opcode)) {
      problem = std::string("io_uring lacks the ") + op.name + " operation on kernel " +
                kernel_release() + "; ringlb needs Linux 6.1+";
      break;
    }
  }
  io_uring_free_probe(probe);
  return problem;
}

std::optional<std::string> buffer_ring_problem(io_uring& ring) {
  int error = 0;
  io_uring_buf_reg reg{};
  void* memory = nullptr;
  if (posix_memalign(&memory, 4096, 4096) != 0) return "out of memory";
  reg.ring_addr = reinterpret_cast<uintptr_t>(memory);
  reg.ring_entries = 8;
  reg.bgid = 0;
  error = io_uring_register_buf_ring(&ring, &reg, 0);
  free(memory);
  if (error == 0) return std::nullopt;
  return "io_uring provided buffer rings are unavailable (" + std::string(std::strerror(-error)) +
         ") on kernel " + kernel_release() + "; ringlb needs Linux 6.1+";
}

}  // namespace

std::optional<std::string> check_io_uring_support() {
  if (auto problem = sysctl_problem()) return problem;
  io_uring ring{};
  int error = io_uring_queue_init(8, &ring, 0);
  if (error < 0) return ring_creation_problem(error);
  std::optional<std::string> problem = missing_opcode(ring);
  if (!problem) problem = buffer_ring_problem(ring);
  if (!problem && !(ring.features & IORING_FEAT_FAST_POLL)) {
    problem = "io_uring lacks fast poll on kernel " + kernel_release() + "; ringlb needs 6.1+";
  }
  io_uring_queue_exit(&ring);
  return problem;
}

std::string describe_io_uring_support() {
  std::optional<std::string> problem = check_io_uring_support();
  return "io_uring on kernel " + kernel_release() + ": " + (problem ? *problem : "usable");
}

}  // namespace ringlb
