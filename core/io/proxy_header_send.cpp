// The sending half of the PROXY protocol: one header, written synchronously after connect.
#include "core/io/proxy_header_send.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <span>

#include "core/io/proxy_header.hpp"

namespace ringlb {

void read_local_address(int client_fd, sockaddr_in6& local) {
  if (local.sin6_family != AF_UNSPEC || client_fd < 0) return;
  socklen_t length = sizeof(local);
  getsockname(client_fd, reinterpret_cast<sockaddr*>(&local), &length);
}

namespace {

proxy_protocol::Version wire_version(config::ProxyProtocolSend version) {
  return version == config::ProxyProtocolSend::kV1 ? proxy_protocol::Version::kV1
                                                   : proxy_protocol::Version::kV2;
}

// The whole header in one send, or -errno (-EAGAIN for a part: a fresh socket never does that).
int send_whole(int fd, std::span<const uint8_t> header) {
  const ssize_t sent = send(fd, header.data(), header.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent == static_cast<ssize_t>(header.size())) return 0;
  return sent < 0 ? -errno : -EAGAIN;
}

}  // namespace

int send_proxy_header(config::ProxyProtocolSend version, int backend_fd, int client_fd,
                      const sockaddr_in6& client, sockaddr_in6& local) {
  if (version == config::ProxyProtocolSend::kOff) return 0;
  read_local_address(client_fd, local);
  std::array<uint8_t, proxy_protocol::kMaxWrittenBytes> header{};
  const size_t length = proxy_protocol::write(wire_version(version), client, local, header);
  return send_whole(backend_fd, std::span(header.data(), length));
}

int send_local_proxy_header(config::ProxyProtocolSend version, int fd) {
  if (version == config::ProxyProtocolSend::kOff) return 0;
  std::array<uint8_t, proxy_protocol::kMaxWrittenBytes> header{};
  const size_t length = proxy_protocol::write_local(wire_version(version), header);
  return send_whole(fd, std::span(header.data(), length));
}

}  // namespace ringlb
