// Socket helpers for the control thread: these make blocking syscalls and never run per request.
#include "core/io/socket_util.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/io/tuning.hpp"

namespace ringlb {

SocketAddress to_socket_address(const config::Address& address) {
  SocketAddress result;
  if (address.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address.port);
    inet_pton(AF_INET6, address.host.c_str(), &in6->sin6_addr);
    result.length = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&result.storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(address.port);
    inet_pton(AF_INET, address.host.c_str(), &in4->sin_addr);
    result.length = sizeof(sockaddr_in);
  }
  return result;
}

std::string format_socket_address(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
  inet_ntop(AF_INET, &in4.sin_addr, host, sizeof(host));
  return std::string(host) + ":" + std::to_string(ntohs(in4.sin_port));
}

namespace {

int fail(int fd, const char* step, std::string& why) {
  int error = errno;
  why = std::string(step) + ": " + std::strerror(error);
  if (fd >= 0) close(fd);
  return -error;
}

}  // namespace

void tune_socket(int fd, const Tuning& tuning) {
  const int one = 1;
  if (tuning.tcp_nodelay) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (tuning.socket_buffer_bytes > 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &tuning.socket_buffer_bytes, sizeof(int));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tuning.socket_buffer_bytes, sizeof(int));
  }
}

int open_listening_socket(const config::Address& address, std::string& why, bool v6only,
                          const Tuning& tuning) {
  SocketAddress socket_address = to_socket_address(address);
  int fd = socket(socket_address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(-1, "socket", why);
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return fail(fd, "setsockopt", why);
  }
  // Accepted sockets inherit TCP_NODELAY, which saves one syscall per connection.
  tune_socket(fd, tuning);
  const int only_ipv6 = v6only ? 1 : 0;
  if (address.ipv6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only_ipv6, sizeof(only_ipv6)) != 0) {
    return fail(fd, "setsockopt IPV6_V6ONLY", why);
  }
  if (bind(fd, socket_address.get(), socket_address.length) != 0) return fail(fd, "bind", why);
  if (listen(fd, SOMAXCONN) != 0) return fail(fd, "listen", why);
  return fd;
}

}  // namespace ringlb
