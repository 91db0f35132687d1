// Shared by the config/ tests that load TLS sections: a temporary directory where a test writes
// key pairs and self-signed certificates as PEM files, made here with OpenSSL (nothing secret is
// committed), and the configuration file that names them.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "tests/config/load_helpers.hpp"

namespace ringlb::config {

// Removed with everything in it when the test ends.
class TlsDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ringlb-tls-files-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static EVP_PKEY* new_key() { return EVP_EC_gen("P-256"); }

  // Writes `key` to NAME with `mode`; returns the path.
  std::string write_key(EVP_PKEY* key, const std::string& name, mode_t mode = 0600) {
    const std::string path = dir_ + "/" + name;
    std::FILE* file = std::fopen(path.c_str(), "wb");
    PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(file);
    chmod(path.c_str(), mode);
    return path;
  }

  // A self-signed certificate for `key`, valid from now + `from_days` to now + `to_days`.
  std::string write_certificate(EVP_PKEY* key, const std::string& name, long from_days = -1,
                                long to_days = 30) {
    X509* certificate = X509_new();
    X509_set_version(certificate, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
    X509_gmtime_adj(X509_getm_notBefore(certificate), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(certificate), to_days * 86400);
    X509_NAME* subject = X509_get_subject_name(certificate);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("a.test"), -1, -1, 0);
    X509_set_issuer_name(certificate, subject);
    X509_set_pubkey(certificate, key);
    X509_sign(certificate, key, EVP_sha256());
    const std::string path = dir_ + "/" + name;
    std::FILE* file = std::fopen(path.c_str(), "wb");
    PEM_write_X509(file, certificate);
    std::fclose(file);
    X509_free(certificate);
    return path;
  }

  // site.key and site.pem, a matching pair.
  void write_site_pair() {
    EVP_PKEY* key = new_key();
    write_key(key, "site.key");
    write_certificate(key, "site.pem");
    EVP_PKEY_free(key);
  }

  // Loads the config written to DIR/ringlb.toml, so relative paths resolve against DIR.
  LoadResult load_file(std::initializer_list<std::string_view> lines) {
    const std::string path = dir_ + "/ringlb.toml";
    std::ofstream(path) << join(lines);
    return load_config_file(path, known_balancers());
  }

  // As printed, with the temporary directory shown as DIR.
  std::vector<std::string> printed_relative(const LoadResult& result) {
    std::vector<std::string> lines = printed(result);
    for (std::string& line : lines) {
      for (size_t at = line.find(dir_); at != std::string::npos; at = line.find(dir_)) {
        line.replace(at, dir_.size(), "DIR");
      }
    }
    return lines;
  }

  std::string dir_;
};

}  // namespace ringlb::config
