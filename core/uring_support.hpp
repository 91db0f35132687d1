// Checks at start that this kernel lets us use io_uring the way ringlb needs, so a missing
// feature is one clear line and exit code 2, never silent misbehaviour.
#pragma once

#include <optional>
#include <string>

namespace ringlb {

// nullopt when usable; otherwise the cause and the fix in one line.
std::optional<std::string> check_io_uring_support();

// "io_uring: opcodes ok, multishot accept, provided buffer rings" style summary for --version.
std::string describe_io_uring_support();

}  // namespace ringlb
