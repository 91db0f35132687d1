// Building the SSL_CTXs: Mozilla's "intermediate" settings (TLS 1.2 and 1.3, AEAD ciphers with
// forward secrecy), SNI by the certificates' own names, ALPN, and stateless session tickets
// whose keys live only in this process and rotate every hour.
#include "core/io/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>

namespace ringlb {
namespace {

// Mozilla's intermediate configuration (v5.7) for TLS 1.2; TLS 1.3 keeps OpenSSL's defaults,
// which are the same three suites Mozilla lists.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";
constexpr unsigned char kSessionIdContext[] = "ringlb";
constexpr auto kTicketKeyLifetime = std::chrono::hours(1);

std::string openssl_errors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!text.empty()) text += "; ";
    // "error:0A00018F:SSL routines::ee key too small" -> the reason after the last colon
    const char* reason = std::strrchr(buffer, ':');
    text += reason ? reason + 1 : buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

int no_passphrase(char*, int, int, void*) { return -1; }

// The keys session tickets are sealed with: made at random in memory, never written anywhere,
// replaced every kTicketKeyLifetime. The previous key still opens tickets, so a ticket stays
// good for one to two lifetimes; each resumption gets a new ticket. Shared by every listener and
// worker; the lock is taken once per full handshake or resumption, never per byte.
class TicketKeys {
 public:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> cipher_key;
    std::array<unsigned char, 32> mac_key;
  };

  // The key to seal a new ticket with.
  Key current() {
    std::lock_guard lock(mutex_);
    rotate_if_due();
    return keys_[0];
  }
  // The key named `name`: 1 = current, 2 = previous, 0 = unknown.
  int find(const unsigned char* name, Key& out) {
    std::lock_guard lock(mutex_);
    rotate_if_due();
    for (int i = 0; i < 2; ++i) {
      if (valid_[i] && std::memcmp(keys_[i].name.data(), name, 16) == 0) {
        out = keys_[i];
        return i + 1;
      }
    }
    return 0;
  }

 private:
  void rotate_if_due() {
    const auto now = std::chrono::steady_clock::now();
    if (valid_[0] && now - made_ < kTicketKeyLifetime) return;
    keys_[1] = keys_[0];
    valid_[1] = valid_[0];
    RAND_bytes(keys_[0].name.data(), 16);
    RAND_bytes(keys_[0].cipher_key.data(), 32);
    RAND_bytes(keys_[0].mac_key.data(), 32);
    valid_[0] = true;
    made_ = now;
  }

  std::mutex mutex_;
  std::array<Key, 2> keys_{};
  std::array<bool, 2> valid_{};
  std::chrono::steady_clock::time_point made_{};
};

TicketKeys& ticket_keys() {
  static TicketKeys keys;
  return keys;
}

int ticket_key_callback(SSL*, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac, int encrypt) {
  TicketKeys::Key key;
  int result = 1;
  if (encrypt) {
    key = ticket_keys().current();
    std::memcpy(name, key.name.data(), 16);
    if (RAND_bytes(iv, 16) != 1) return -1;
  } else {
    // Always "renew": a TLS 1.3 client uses a ticket once, and OpenSSL sends a resumed
    // connection a new one only when asked to. Without it every other connection of a client
    // that reconnects in a loop (wrk, s_client -sess_in) would be a full handshake.
    if (ticket_keys().find(name, key) == 0) return 0;
    result = 2;
  }
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string("key", key.mac_key.data(), key.mac_key.size()),
      OSSL_PARAM_construct_utf8_string("digest", digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  const int ok =
      encrypt ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher_key.data(), iv)
              : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher_key.data(), iv);
  if (ok != 1) return -1;
  return result;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length,
                const unsigned char* offered, unsigned int offered_length, void* arg) {
  const auto* ours = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(
          &chosen, out_length, reinterpret_cast<const unsigned char*>(ours->data()),
          static_cast<unsigned>(ours->size()), offered, offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: carry on without ALPN
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int select_certificate(SSL* ssl, int*, void* arg) {
  const char* host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (host == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  const auto* context = static_cast<const TlsServerContext*>(arg);
  if (SSL_CTX* chosen = context->find(host)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;  // an unknown name gets the default certificate
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The DNS names a certificate is for: its subjectAltName entries, or its CN when it has none.
std::vector<std::string> certificate_names(X509* certificate) {
  std::vector<std::string> names;
  auto* alt_names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (alt_names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt_names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt_names, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_STRING* dns = name->d.dNSName;
      names.push_back(lowercase(std::string_view(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)), ASN1_STRING_length(dns))));
    }
    GENERAL_NAMES_free(alt_names);
  }
  if (!names.empty()) return names;
  char common_name[256];
  const int length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName,
                                               common_name, sizeof(common_name));
  if (length > 0) names.push_back(lowercase(std::string_view(common_name, length)));
  return names;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Bio memory_bio(const std::string& bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Reading PEM blocks until none is left ends with PEM_R_NO_START_LINE: the normal end, not an
// error. Anything else left on the queue is a real one.
bool pem_ended_cleanly() {
  const unsigned long last = ERR_peek_last_error();
  if (last != 0 &&
      (ERR_GET_LIB(last) != ERR_LIB_PEM || ERR_GET_REASON(last) != PEM_R_NO_START_LINE)) {
    return false;
  }
  ERR_clear_error();
  return true;
}

// What SSL_CTX_use_certificate_chain_file does, from bytes already read: the first certificate
// is the server's, the ones after it are sent as its chain.
bool use_certificate_chain(SSL_CTX* context, const std::string& pem) {
  Bio bio = memory_bio(pem);
  if (!bio) return false;
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr);
  if (leaf == nullptr) return false;
  const bool used = SSL_CTX_use_certificate(context, leaf) == 1;
  X509_free(leaf);
  if (!used || SSL_CTX_clear_chain_certs(context) != 1) return false;
  while (X509* issuer = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(context, issuer) != 1) {  // takes ownership only on success
      X509_free(issuer);
      return false;
    }
  }
  return pem_ended_cleanly();
}

bool use_private_key(SSL_CTX* context, const std::string& pem) {
  Bio bio = memory_bio(pem);
  if (!bio) return false;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (key == nullptr) return false;
  const bool used = SSL_CTX_use_PrivateKey(context, key) == 1;
  EVP_PKEY_free(key);
  return used;
}

// What SSL_CTX_load_verify_locations does with a CA file, from bytes already read: every
// certificate and CRL in it becomes trusted.
bool add_trusted(SSL_CTX* context, const std::string& pem) {
  Bio bio = memory_bio(pem);
  if (!bio) return false;
  STACK_OF(X509_INFO)* items = PEM_X509_INFO_read_bio(bio.get(), nullptr, no_passphrase, nullptr);
  if (items == nullptr) return false;
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  int added = 0;
  bool ok = true;
  for (int i = 0; i < sk_X509_INFO_num(items) && ok; ++i) {
    const X509_INFO* item = sk_X509_INFO_value(items, i);
    if (item->x509 != nullptr) {
      ok = X509_STORE_add_cert(store, item->x509) == 1;
      ++added;
    }
    if (ok && item->crl != nullptr) {
      ok = X509_STORE_add_crl(store, item->crl) == 1;
      ++added;
    }
  }
  sk_X509_INFO_pop_free(items, X509_INFO_free);
  return ok && added > 0;
}

bool set_common_options(SSL_CTX* context, int min_version, std::string& error) {
  SSL_CTX_set_min_proto_version(context, min_version);
  SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(context, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(context, kGroups) != 1) {
    error = "cipher settings: " + openssl_errors();
    return false;
  }
  return true;
}

SSL_CTX* new_server_context(const config::ListenerTls& tls, const config::TlsCertificate& entry,
                            std::string& error) {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (context == nullptr) {
    error = openssl_errors();
    return nullptr;
  }
  const int min_version = tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  bool ok = set_common_options(context, min_version, error);
  SSL_CTX_set_dh_auto(context, 1);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);  // tickets only: no shared cache
  SSL_CTX_set_session_id_context(context, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_num_tickets(context, 1);
  SSL_CTX_set_timeout(context, std::chrono::seconds(kTicketKeyLifetime).count());
  SSL_CTX_set_tlsext_ticket_key_evp_cb(context, ticket_key_callback);
  SSL_CTX_set_default_passwd_cb(context, no_passphrase);
  if (ok && !use_certificate_chain(context, entry.cert_pem)) {
    error = "certificate " + entry.cert + ": " + openssl_errors();
    ok = false;
  }
  if (ok && !use_private_key(context, entry.key_pem)) {
    error = "private key " + entry.key + ": " + openssl_errors();
    ok = false;
  }
  if (ok && SSL_CTX_check_private_key(context) != 1) {
    error = "private key " + entry.key + " does not match certificate " + entry.cert;
    ok = false;
  }
  if (!ok) {
    ERR_clear_error();
    SSL_CTX_free(context);
    return nullptr;
  }
  return context;
}

}  // namespace

TlsServerContext::~TlsServerContext() {
  for (SSL_CTX* context : contexts_) SSL_CTX_free(context);
}

std::shared_ptr<const TlsServerContext> TlsServerContext::build(const config::ListenerTls& tls,
                                                                std::string& error) {
  std::shared_ptr<TlsServerContext> built(new TlsServerContext());
  built->config_ = tls;
  for (const std::string& protocol : tls.alpn) {
    built->alpn_.push_back(static_cast<char>(protocol.size()));
    built->alpn_ += protocol;
  }
  for (const config::TlsCertificate& entry : tls.certificates) {
    SSL_CTX* context = new_server_context(tls, entry, error);
    if (context == nullptr) return nullptr;
    built->contexts_.push_back(context);
    if (!built->alpn_.empty()) SSL_CTX_set_alpn_select_cb(context, select_alpn, &built->alpn_);
    for (const std::string& name : certificate_names(SSL_CTX_get0_certificate(context))) {
      built->names_.emplace(name, context);  // an earlier certificate keeps a shared name
    }
  }
  if (built->contexts_.empty()) {
    error = "no certificates";
    return nullptr;
  }
  SSL_CTX_set_tlsext_servername_callback(built->initial(), select_certificate);
  SSL_CTX_set_tlsext_servername_arg(built->initial(), built.get());
  return built;
}

bool TlsServerContext::same_as(const config::ListenerTls& tls) const {
  if (tls.min_version != config_.min_version || tls.alpn != config_.alpn) return false;
  if (tls.certificates.size() != config_.certificates.size()) return false;
  for (size_t i = 0; i < tls.certificates.size(); ++i) {
    const config::TlsCertificate& wanted = tls.certificates[i];
    const config::TlsCertificate& built = config_.certificates[i];
    if (wanted.cert != built.cert || wanted.key != built.key || wanted.cert_pem != built.cert_pem ||
        wanted.key_pem != built.key_pem) {
      return false;
    }
  }
  return true;
}

SSL_CTX* TlsServerContext::find(std::string_view host) const {
  std::string name = lowercase(host);
  if (auto exact = names_.find(name); exact != names_.end()) return exact->second;
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return nullptr;
  name.replace(0, dot, "*");  // "a.example.com" -> "*.example.com": one label only
  if (auto wildcard = names_.find(name); wildcard != names_.end()) return wildcard->second;
  return nullptr;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(context_); }

std::shared_ptr<const TlsClientContext> TlsClientContext::build(const config::PoolTls& tls,
                                                                std::string& error) {
  std::shared_ptr<TlsClientContext> built(new TlsClientContext());
  built->config_ = tls;
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr) {
    error = openssl_errors();
    return nullptr;
  }
  built->context_ = context;
  if (!set_common_options(context, TLS1_2_VERSION, error)) return nullptr;
  SSL_CTX_set_verify(context, tls.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (tls.verify) {
    const bool loaded = tls.ca.empty() ? SSL_CTX_set_default_verify_paths(context) == 1
                                       : add_trusted(context, tls.ca_pem);
    if (!loaded) {
      error = "CA bundle " + (tls.ca.empty() ? std::string("of the system") : tls.ca) + ": " +
              openssl_errors();
      return nullptr;
    }
  }
  return built;
}

bool TlsClientContext::same_as(const config::PoolTls& tls) const {
  return tls.verify == config_.verify && tls.ca == config_.ca && tls.sni == config_.sni &&
         tls.ca_pem == config_.ca_pem;
}

bool kernel_offers_ktls() {
  std::ifstream file("/proc/sys/net/ipv4/tcp_available_ulp");
  std::string word;
  while (file >> word) {
    if (word == "tls") return true;
  }
  return false;
}

}  // namespace ringlb
