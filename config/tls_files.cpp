// Reading certificates, keys and CA bundles at load time with OpenSSL, so each problem is
// reported at the line that names the file rather than when the first client connects.
#include "config/tls_files.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

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

// Opens `path` for reading, or says why not ("No such file or directory").
Bio open_file(const std::string& path, std::string& why) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    why = std::strerror(errno);
    return nullptr;
  }
  Bio bio(BIO_new_fp(file, BIO_CLOSE));
  if (!bio) {
    std::fclose(file);
    why = "out of memory";
  }
  return bio;
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

// The first certificate of a PEM chain file, after checking its dates.
Certificate read_certificate(const std::string& path, SourcePosition at, Reporter& report) {
  std::string why;
  Bio bio = open_file(path, why);
  if (!bio) {
    report.error(at, "cannot read certificate " + path + ": " + why);
    return nullptr;
  }
  Certificate certificate(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
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

PrivateKey read_key(const std::string& path, SourcePosition at, Reporter& report) {
  std::string why;
  Bio bio = open_file(path, why);
  if (!bio) {
    report.error(at, "cannot read private key " + path + ": " + why);
    return nullptr;
  }
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key) {
    report.error(at, path + " holds no unencrypted PEM private key");
    return nullptr;
  }
  struct stat status {};
  if (stat(path.c_str(), &status) == 0 && (status.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(status.st_mode & 07777));
    report.warning(at, "private key " + path + " is readable by every user (mode " + mode +
                           "); chmod o-rwx it");
  }
  return key;
}

void check_certificate(const TlsCertificate& entry, const std::string& path,
                       const SourceMap& sources, SourcePosition fallback, Reporter& report) {
  const SourcePosition entry_at = position_of(sources, path, fallback);
  if (entry.cert.empty() || entry.key.empty()) return;  // reported by the loader
  Certificate certificate =
      read_certificate(entry.cert, position_of(sources, path + ".cert", entry_at), report);
  const SourcePosition key_at = position_of(sources, path + ".key", entry_at);
  PrivateKey key = read_key(entry.key, key_at, report);
  if (!certificate || !key) return;
  if (X509_check_private_key(certificate.get(), key.get()) != 1) {
    ERR_clear_error();
    report.error(key_at, "private key " + entry.key + " does not match certificate " + entry.cert);
  }
}

void check_listener_tls(const ListenerConfig& listener, const SourceMap& sources,
                        Reporter& report) {
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

void check_pool_tls(const PoolConfig& pool, const SourceMap& sources, Reporter& report) {
  const std::string path = "pools." + pool.name + ".tls";
  const SourcePosition tls_at = position_of(sources, path, pool.position);
  if (!pool.tls->sni.empty() && !is_host_name(pool.tls->sni)) {
    report.error(position_of(sources, path + ".sni", tls_at),
                 "'sni' must be a host name like \"app.internal\", not \"" + pool.tls->sni + "\"");
  }
  if (pool.tls->ca.empty()) return;
  const SourcePosition ca_at = position_of(sources, path + ".ca", tls_at);
  std::string why;
  Bio bio = open_file(pool.tls->ca, why);
  if (!bio) {
    report.error(ca_at, "cannot read CA bundle " + pool.tls->ca + ": " + why);
    return;
  }
  Certificate first(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
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

void check_tls_files(const Config& config, const SourceMap& sources, Reporter& report) {
  for (const ListenerConfig& listener : config.listeners) {
    if (listener.tls) check_listener_tls(listener, sources, report);
  }
  for (const PoolConfig& pool : config.pools) {
    if (pool.tls) check_pool_tls(pool, sources, report);
  }
}

}  // namespace ringlb::config
