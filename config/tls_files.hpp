// Internal to config/: the checks on the files a [listeners.NAME.tls] or [pools.NAME.tls] section
// names. They read the certificates and keys at load time, so `ringlb --check` catches a missing
// file, a key that does not match its certificate, or an expired certificate, with the position
// of the setting that names it.
#pragma once

#include "config/config.hpp"
#include "config/validate.hpp"

namespace ringlb::config {

// Makes relative certificate, key and CA paths relative to the directory of the configuration
// file (like nginx's conf-relative includes), so the running process never depends on its
// working directory. Absolute paths are left alone.
void resolve_tls_paths(Config& config);

// Reads every file named by a TLS section once (regular files only, never waiting on a FIFO),
// stores its bytes in the config (cert_pem, key_pem, ca_pem), and reports what would stop a TLS
// context from being built, as errors; a private key that every user may read is a warning.
// Blocks on disk I/O.
void check_tls_files(Config& config, const SourceMap& sources, Reporter& report);

}  // namespace ringlb::config
