// Sending the PROXY protocol header a pool asks for (send_proxy_protocol) on a new backend
// connection, before anything else goes on it: L4 tunnels and HTTP connections alike.
#pragma once

#include <netinet/in.h>

#include "config/config.hpp"

namespace ringlb {

// Writes the header on `backend_fd`, a connection just established: its send buffer is empty,
// so the header (at most 108 bytes) goes out whole in one non-blocking send, as haproxy sends
// it. `client` is the client's address; `local`, the address the client connected to, is read
// from `client_fd` the first time it is needed (when no PROXY header carried it in). Returns 0,
// or -errno when the header could not be sent whole (the connection is then to be dropped as a
// failed connect). Does nothing for ProxyProtocolSend::kOff.
int send_proxy_header(config::ProxyProtocolSend version, int backend_fd, int client_fd,
                      const sockaddr_in6& client, sockaddr_in6& local);

// A health probe's header on `fd`, just connected: v1 "PROXY UNKNOWN", v2 LOCAL. Returns 0 or
// -errno, as send_proxy_header. Does nothing for kOff.
int send_local_proxy_header(config::ProxyProtocolSend version, int fd);

// Fills `local` from `client_fd` (getsockname) unless it is already known.
void read_local_address(int client_fd, sockaddr_in6& local);

}  // namespace ringlb
