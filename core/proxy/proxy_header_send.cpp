// The sending half of the PROXY protocol: one header, written synchronously after connect.
#include "core/proxy/proxy_header_send.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "core/proxy/proxy_header.hpp"

namespace ringlb {

void read_local_address(int client_fd, sockaddr_in6& local) {
  if (local.sin6_family != AF_UNSPEC || client_fd < 0) return;
  socklen_t length = sizeof(local);
  getsockname(client_fd, reinterpret_cast<sockaddr*>(&local), &length);
}

int send_proxy_header(config::ProxyProtocolSend version, int backend_fd, int client_fd,
                      const sockaddr_in6& client, sockaddr_in6& local) {
  if (version == config::ProxyProtocolSend::kOff) return 0;
  read_local_address(client_fd, local);
  std::array<uint8_t, proxy_protocol::kMaxWrittenBytes> header{};
  const size_t length = proxy_protocol::write(version == config::ProxyProtocolSend::kV1
                                                  ? proxy_protocol::Version::kV1
                                                  : proxy_protocol::Version::kV2,
                                              client, local, header);
  const ssize_t sent = send(backend_fd, header.data(), length, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent == static_cast<ssize_t>(length)) return 0;
  return sent < 0 ? -errno : -EAGAIN;
}

}  // namespace ringlb
