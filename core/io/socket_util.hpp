// Plain socket set-up done outside the data path: addresses, listening sockets, options.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "config/config.hpp"
#include "core/io/tuning.hpp"

namespace ringlb {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

// The address is already validated by config/, so this cannot fail for a loaded Config.
SocketAddress to_socket_address(const config::Address& address);

// "127.0.0.1:5000" / "[::1]:5000"
std::string format_socket_address(const sockaddr_storage& address);

// A non-blocking TCP listening socket with SO_REUSEPORT, bound and listening. Returns the fd, or
// -errno with `why` naming the step that failed. An IPv6 socket takes IPv4 clients too unless
// `v6only` (IPV6_V6ONLY is set either way, so net.ipv6.bindv6only changes nothing).
int open_listening_socket(const config::Address& address, std::string& why, bool v6only = false,
                          const Tuning& tuning = {});

// TCP_NODELAY and the socket buffer sizes `tuning` asks for, on a new client or backend socket.
void tune_socket(int fd, const Tuning& tuning);

// An accept that failed for want of descriptors or memory: retrying at once fails again at once,
// so the caller backs off instead.
inline bool accept_out_of_resources(int result) {
  return result == -EMFILE || result == -ENFILE || result == -ENOBUFS || result == -ENOMEM;
}

}  // namespace ringlb
