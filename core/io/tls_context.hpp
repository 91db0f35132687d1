// The OpenSSL contexts a snapshot holds: one server context per TLS listener (its certificates,
// picked by SNI) and one client context per TLS pool. Built on the control thread when a
// snapshot is built, immutable afterwards, and shared by every worker: SSL_new() on a shared
// SSL_CTX is thread-safe. A session keeps its snapshot, so an open connection keeps the
// certificates it started with across a reload.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"

namespace ringlb {

class TlsServerContext {
 public:
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // Loads every certificate of `tls` from the bytes the loader read (cert_pem, key_pem); nullptr
  // with `error` set ("certificate /x.pem: ..."). Control thread; reads no file.
  static std::shared_ptr<const TlsServerContext> build(const config::ListenerTls& tls,
                                                       std::string& error);

  // The context new connections start with: the first certificate's, whose SNI callback
  // switches to the certificate that names the requested host.
  SSL_CTX* initial() const { return contexts_.front(); }
  // True when `tls` names the same files with the same bytes as this context was built from.
  bool same_as(const config::ListenerTls& tls) const;
  // The context whose certificate names `host` exactly, else by a wildcard, else nullptr.
  SSL_CTX* find(std::string_view host) const;

 private:
  TlsServerContext() = default;
  config::ListenerTls config_;
  std::vector<SSL_CTX*> contexts_;                   // one per certificate, in config order
  std::unordered_map<std::string, SSL_CTX*> names_;  // lowercase DNS names, "*.x" for wildcards
  std::string alpn_;                                 // wire format
};

class TlsClientContext {
 public:
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  // Trusts ca_pem (the bytes of `ca`), or the system's CAs when `ca` is empty. Control thread.
  static std::shared_ptr<const TlsClientContext> build(const config::PoolTls& tls,
                                                       std::string& error);
  SSL_CTX* context() const { return context_; }
  const config::PoolTls& config() const { return config_; }
  bool same_as(const config::PoolTls& tls) const;

 private:
  TlsClientContext() = default;
  config::PoolTls config_;
  SSL_CTX* context_ = nullptr;
};

// True when the kernel offers kTLS (`tls` in /proc/sys/net/ipv4/tcp_available_ulp). ringlb
// encrypts in user space either way today; this only decides what is logged at start.
bool kernel_offers_ktls();

}  // namespace ringlb
