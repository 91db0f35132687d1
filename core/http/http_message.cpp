// The few helpers of the parsed message head: ASCII case-insensitive comparison (field names,
// tokens) and field lookup. Kept apart from the parser so that users of Head need no Beast.
#include "core/http/http_message.hpp"

namespace ringlb::http {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view Head::find(std::string_view name) const {
  for (const Field& field : fields) {
    if (iequals(field.name, name)) return field.value;
  }
  return {};
}

}  // namespace ringlb::http
