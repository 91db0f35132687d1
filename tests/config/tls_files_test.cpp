// Tests for config/tls_files: the certificate, key and CA files a TLS section names are read at
// load time, and each problem points at the setting that names the file. The certificates are
// made here, in a temporary directory, with OpenSSL: nothing secret is committed.
#include "config/tls_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/config/tls_fixture.hpp"

namespace ringlb::config {
namespace {

namespace fs = std::filesystem;

// The certificates and the config file are written to a fresh temporary directory.
class TlsFiles : public TlsDirectory {};

TEST_F(TlsFiles, AGoodPairLoadsWithRelativePathsResolvedNextToTheConfig) {
  EVP_PKEY* key = new_key();
  write_key(key, "site.key");
  write_certificate(key, "site.pem");
  EVP_PKEY_free(key);
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "protocol = \"tcp\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      "certificates = [{ cert = \"site.pem\", key = \"site.key\" }]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed_relative(result), expected());
  ASSERT_TRUE(result.config);
  const ListenerTls& tls = *result.config->listeners[0].tls;
  EXPECT_EQ(tls.certificates[0].cert, dir_ + "/site.pem");
  EXPECT_EQ(tls.certificates[0].key, dir_ + "/site.key");
  EXPECT_EQ(tls.min_version, "1.2");
  EXPECT_EQ(tls.alpn, std::vector<std::string>{"http/1.1"});
}

// The TLS contexts are built from these bytes: a file is read once, when it is checked.
TEST_F(TlsFiles, TheBytesCheckedAreTheBytesKeptForTheContexts) {
  EVP_PKEY* key = new_key();
  write_key(key, "site.key");
  write_certificate(key, "site.pem");
  write_certificate(key, "ca.pem");
  EVP_PKEY_free(key);
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      "certificates = [{ cert = \"site.pem\", key = \"site.key\" }]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
      "[pools.app.tls]",
      "ca = \"ca.pem\"",
  });
  ASSERT_TRUE(result.config) << testing::PrintToString(printed(result));
  const auto contents = [&](const std::string& name) {
    std::ifstream file(dir_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  const TlsCertificate& certificate = result.config->listeners[0].tls->certificates[0];
  EXPECT_EQ(certificate.cert_pem, contents("site.pem"));
  EXPECT_EQ(certificate.key_pem, contents("site.key"));
  EXPECT_EQ(result.config->pools[0].tls->ca_pem, contents("ca.pem"));
  EXPECT_FALSE(certificate.cert_pem.empty());
}

// A FIFO would freeze the control thread in open() until a writer came; a directory or a device
// is a wrong path. Each is refused at once, at the setting that names it.
TEST_F(TlsFiles, WhatIsNotARegularFileIsRefusedWithoutBlocking) {
  ASSERT_EQ(mkfifo((dir_ + "/fifo.pem").c_str(), 0600), 0);
  fs::create_directory(dir_ + "/keys");
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      "certificates = [{ cert = \"fifo.pem\", key = \"keys\" }]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
      "[pools.app.tls]",
      "ca = \"/dev/zero\"",
  });
  EXPECT_EQ(printed_relative(result),
            expected("DIR/ringlb.toml:5:26: cannot read certificate DIR/fifo.pem: it is a FIFO, "
                     "not a regular file",
                     "DIR/ringlb.toml:5:44: cannot read private key DIR/keys: it is a directory, "
                     "not a regular file",
                     "DIR/ringlb.toml:9:6: cannot read CA bundle /dev/zero: it is a character "
                     "device, not a regular file"));
}

TEST_F(TlsFiles, APoolCaBundleAndSniLoad) {
  EVP_PKEY* key = new_key();
  write_certificate(key, "ca.pem");
  EVP_PKEY_free(key);
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8080\"",
      "pool = \"app\"",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
      "[pools.app.tls]",
      "ca = \"ca.pem\"",
      "sni = \"app.internal\"",
  });
  EXPECT_EQ(printed_relative(result), expected());
  ASSERT_TRUE(result.config);
  const PoolTls& tls = *result.config->pools[0].tls;
  EXPECT_TRUE(tls.verify);
  EXPECT_EQ(tls.ca, dir_ + "/ca.pem");
  EXPECT_EQ(tls.sni, "app.internal");
}

TEST_F(TlsFiles, MissingFilesAreErrorsAtTheSettingThatNamesThem) {
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      "certificates = [{ cert = \"none.pem\", key = \"none.key\" }]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
      "[pools.app.tls]",
      "ca = \"none-ca.pem\"",
  });
  EXPECT_FALSE(result.config);
  EXPECT_EQ(printed_relative(result),
            expected("DIR/ringlb.toml:5:26: cannot read certificate DIR/none.pem: No such file or "
                     "directory",
                     "DIR/ringlb.toml:5:44: cannot read private key DIR/none.key: No such file or "
                     "directory",
                     "DIR/ringlb.toml:9:6: cannot read CA bundle DIR/none-ca.pem: No such file or "
                     "directory"));
}

TEST_F(TlsFiles, AKeyOfAnotherCertificateIsAnErrorAtTheKey) {
  EVP_PKEY* key = new_key();
  EVP_PKEY* other = new_key();
  write_certificate(key, "site.pem");
  write_key(other, "other.key");
  EVP_PKEY_free(key);
  EVP_PKEY_free(other);
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      "certificates = [",
      "  { cert = \"site.pem\", key = \"other.key\" },",
      "]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed_relative(result),
            expected("DIR/ringlb.toml:6:30: private key DIR/other.key does not match certificate "
                     "DIR/site.pem"));
}

TEST_F(TlsFiles, AnExpiredCertificateIsAnErrorAndAWorldReadableKeyAWarning) {
  EVP_PKEY* key = new_key();
  write_key(key, "site.key", 0644);
  write_certificate(key, "old.pem", -30, -1);
  write_certificate(key, "site.pem");
  EVP_PKEY_free(key);
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      "certificates = [",
      "  { cert = \"site.pem\", key = \"site.key\" },",
      "  { cert = \"old.pem\", key = \"site.key\" },",
      "]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  std::vector<std::string> lines = printed_relative(result);
  ASSERT_EQ(lines.size(), 3u) << testing::PrintToString(lines);
  EXPECT_EQ(lines[0],
            "DIR/ringlb.toml:6:30: warning: private key DIR/site.key is readable by every user "
            "(mode 0644); chmod o-rwx it");
  EXPECT_TRUE(lines[1].starts_with("DIR/ringlb.toml:7:12: certificate DIR/old.pem expired on "))
      << lines[1];
  EXPECT_EQ(lines[2],
            "DIR/ringlb.toml:7:29: warning: private key DIR/site.key is readable by every user "
            "(mode 0644); chmod o-rwx it");
}

TEST_F(TlsFiles, FilesThatAreNotPemAreErrors) {
  std::ofstream(dir_ + "/junk") << "not a certificate\n";
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      "certificates = [{ cert = \"junk\", key = \"junk\" }]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
      "[pools.app.tls]",
      "ca = \"junk\"",
      "sni = \"bad name\"",
  });
  EXPECT_EQ(printed_relative(result),
            expected("DIR/ringlb.toml:5:26: DIR/junk holds no PEM certificate "
                     "(-----BEGIN CERTIFICATE-----)",
                     "DIR/ringlb.toml:5:40: DIR/junk holds no unencrypted PEM private key",
                     "DIR/ringlb.toml:9:6: DIR/junk holds no PEM certificate",
                     "DIR/ringlb.toml:10:7: 'sni' must be a host name like \"app.internal\", not "
                     "\"bad name\""));
}

TEST(TlsSections, AreCheckedLikeEveryOtherSection) {
  LoadResult result = load_before_base({
      "[listeners.web.tls]",    // 1
      "min_version = \"1.4\"",  // 2
      "alpn = [\"h2\", 11]",    // 3
      "[pools.app.tls]",        // 4
      "verify = \"yes\"",       // 5
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:1:1: TLS needs at least one entry in 'certificates'",
                     "test.toml:2:15: 'min_version' must be \"1.2\" or \"1.3\", not \"1.4\"; "
                     "did you mean \"1.2\"?",
                     "test.toml:3:15: 'alpn' must hold only strings, not an integer",
                     "test.toml:5:10: 'verify' must be a boolean (true or false), not a "
                     "string"));
}

}  // namespace
}  // namespace ringlb::config
