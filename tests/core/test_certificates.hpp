// Certificates made in memory for the TLS tests (nothing secret is committed): a self-signed
// certificate for some subjectAltName entries, written as PEM with its key into a directory.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "config/config.hpp"

namespace ringlb::test_support {

// The bytes of a file written by make_test_certificate, as the loader would hand them on.
inline std::string read_pem(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// `names` is a subjectAltName value ("DNS:a.test,DNS:b.test"); the files are DIR/FILE.pem and
// DIR/FILE.key, their bytes in cert_pem and key_pem. A self-signed certificate is its own CA, so
// `ca = DIR/FILE.pem` verifies it.
inline config::TlsCertificate make_test_certificate(const std::string& dir, const std::string& file,
                                                    const std::string& names, long serial) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 86400);
  X509_NAME* subject = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(file.c_str()), -1, -1, 0);
  X509_set_issuer_name(certificate, subject);
  X509_set_pubkey(certificate, key);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, names.c_str());
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
  X509_sign(certificate, key, EVP_sha256());
  config::TlsCertificate paths{dir + "/" + file + ".pem", dir + "/" + file + ".key", {}, {}};
  std::FILE* out = std::fopen(paths.cert.c_str(), "wb");
  PEM_write_X509(out, certificate);
  std::fclose(out);
  out = std::fopen(paths.key.c_str(), "wb");
  PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  X509_free(certificate);
  EVP_PKEY_free(key);
  paths.cert_pem = read_pem(paths.cert);
  paths.key_pem = read_pem(paths.key);
  return paths;
}

}  // namespace ringlb::test_support
