// `ringlb explain` and `ringlb simulate` (README.md, "Command line"): load a configuration, ask the
// pool's real balancer, and print the answer for a human. The logic is balancers/explain.hpp; this
// is the loading and the printing.
#pragma once

#include <cstdint>
#include <string>

namespace ringlb {

// Prints which backend `key` maps to in pool `pool` of the file at `config_path`, and why.
// For hash_key = "client_ip" the key is an IP address; otherwise the raw header value, cookie
// value or request target. Returns the exit code: 0, or 1 for a bad file, pool or key.
int explain_command(const std::string& config_path, const std::string& pool,
                    const std::string& key);

// Prints the share of `keys` sample keys that move when backend `removed` ("HOST:PORT") leaves
// hashing pool `pool`, and the keys per backend before and after. Exit code as above.
int simulate_command(const std::string& config_path, const std::string& pool,
                     const std::string& removed, uint64_t keys);

}  // namespace ringlb
