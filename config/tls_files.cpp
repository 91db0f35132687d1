// Reading certificates, keys and CA bundles at load time with OpenSSL, so each problem is
// reported at the line that names the file rather than when the first client connects. Each file
// is read once; its bytes stay in the Config for core/tls_context to build from.
#include "config/tls_files.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>

#include "config/file_read.hpp"

namespace ringlb::config {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, KeyFree>;

// An encrypted key would make OpenSSL prompt on the terminal; refuse to ask instead.
int no_passphrase(char*, int, int, void*) { return -1; }

// A read-only memory BIO over `bytes`, which must outlive it.
Bio memory_bio(const std::string& bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Reads `path` once into `out`, or reports why not as "cannot read WHAT PATH: why".
bool read_pem_file(const std::string& what, const std::string& path, SourcePosition at,
                   Reporter& report, std::string& out, mode_t* mode = nullptr) {
  std::string why;
  std::optional<FileBytes> file = read_regular_file(path, why);
  if (!file) {
    report.error(at, "cannot read " + what + " " + path + ": " + why);
    return false;
  }
  out = std::move(file->bytes);
  if (mode != nullptr) *mode = file->mode;
  return true;
}

std::string format_time(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return "an unreadable date";
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string resolved(const std::string& directory, const std::string& path) {
  if (path.empty() || path.front() == '/' || directory.empty()) return path;
  return directory + "/" + path;
}

std::string indexed(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// The first certificate of a PEM chain, after checking its dates.
Certificate read_certificate(const std::string& path, const std::string& pem, SourcePosition at,
                             Reporter& report) {
  Bio bio = memory_bio(pem);
  Certificate certificate(bio ? PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr)
                              : nullptr);
  ERR_clear_error();
  if (!certificate) {
    report.error(at, path + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    return nullptr;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(certificate.get())) < 0) {
    report.error(at, "certificate " + path + " expired on " +
                         format_time(X509_get0_notAfter(certificate.get())));
  } else if (X509_cmp_current_time(X509_get0_notBefore(certificate.get())) > 0) {
    report.warning(at, "certificate " + path + " is not valid before " +
                           format_time(X509_get0_notBefore(certificate.get())));
  }
  return certificate;
}

PrivateKey read_key(const std::string& path, const std::string& pem, mode_t mode, SourcePosition at,
                    Reporter& report) {
  Bio bio = memory_bio(pem);
  PrivateKey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)
                     : nullptr);
  ERR_clear_error();
  if (!key) {
    report.error(at, path + " holds no unencrypted PEM private key");
    return nullptr;
  }
  if ((mode & (S_IROTH | S_IWOTH)) != 0) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
    report.warning(at, "private key " + path + " is readable by every user (mode " + text +
                           "); chmod o-rwx it");
  }
  return key;
}

// Reads the entry's two files once, keeping their bytes in `entry` for the TLS context, and
// checks that they hold a current certificate and the key that matches it.
void check_certificate(TlsCertificate& entry, const std::string& path, const SourceMap& sources,
                       SourcePosition fallback, Reporter& report) {
  const SourcePosition entry_at = position_of(sources, path, fallback);
  if (entry.cert.empty() || entry.key.empty()) return;  // reported by the loader
  const SourcePosition cert_at = position_of(sources, path + ".cert", entry_at);
  const SourcePosition key_at = position_of(sources, path + ".key", entry_at);
  mode_t key_mode = 0;
  const bool have_cert = read_pem_file("certificate", entry.cert, cert_at, report, entry.cert_pem);
  const bool have_key =
      read_pem_file("private key", entry.key, key_at, report, entry.key_pem, &key_mode);
  Certificate certificate =
      have_cert ? read_certificate(entry.cert, entry.cert_pem, cert_at, report) : nullptr;
  PrivateKey key =
      have_key ? read_key(entry.key, entry.key_pem, key_mode, key_at, report) : nullptr;
  if (!certificate || !key) return;
  if (X509_check_private_key(certificate.get(), key.get()) != 1) {
    ERR_clear_error();
    report.error(key_at, "private key " + entry.key + " does not match certificate " + entry.cert);
  }
}

void check_listener_tls(ListenerConfig& listener, const SourceMap& sources, Reporter& report) {
  const std::string path = "listeners." + listener.name + ".tls";
  const SourcePosition tls_at = position_of(sources, path, listener.position);
  for (size_t i = 0; i < listener.tls->certificates.size(); ++i) {
    check_certificate(listener.tls->certificates[i], indexed(path + ".certificates", i), sources,
                      tls_at, report);
  }
  for (size_t i = 0; i < listener.tls->alpn.size(); ++i) {
    const std::string& protocol = listener.tls->alpn[i];
    if (protocol.empty() || protocol.size() > 255) {
      report.error(position_of(sources, path + ".alpn", tls_at),
                   "each 'alpn' protocol name must be 1 to 255 bytes long");
    }
  }
}

bool is_host_name(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void check_pool_tls(PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  const std::string path = "pools." + pool.name + ".tls";
  const SourcePosition tls_at = position_of(sources, path, pool.position);
  if (!pool.tls->sni.empty() && !is_host_name(pool.tls->sni)) {
    report.error(position_of(sources, path + ".sni", tls_at),
                 "'sni' must be a host name like \"app.internal\", not \"" + pool.tls->sni + "\"");
  }
  if (pool.tls->ca.empty()) return;
  const SourcePosition ca_at = position_of(sources, path + ".ca", tls_at);
  if (!read_pem_file("CA bundle", pool.tls->ca, ca_at, report, pool.tls->ca_pem)) return;
  Bio bio = memory_bio(pool.tls->ca_pem);
  Certificate first(bio ? PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!first) report.error(ca_at, pool.tls->ca + " holds no PEM certificate");
}

}  // namespace

void resolve_tls_paths(Config& config) {
  const size_t slash = config.path.rfind('/');
  const std::string directory = slash == std::string::npos ? "" : config.path.substr(0, slash);
  for (ListenerConfig& listener : config.listeners) {
    if (!listener.tls) continue;
    for (TlsCertificate& certificate : listener.tls->certificates) {
      certificate.cert = resolved(directory, certificate.cert);
      certificate.key = resolved(directory, certificate.key);
    }
  }
  for (PoolConfig& pool : config.pools) {
    if (pool.tls) pool.tls->ca = resolved(directory, pool.tls->ca);
  }
}

void check_tls_files(Config& config, const SourceMap& sources, Reporter& report) {
  for (ListenerConfig& listener : config.listeners) {
    if (listener.tls) check_listener_tls(listener, sources, report);
  }
  for (PoolConfig& pool : config.pools) {
    if (pool.tls) check_pool_tls(pool, sources, report);
  }
}

}  // namespace ringlb::config
