// Section's reads: each checks one key's type and syntax and says exactly what was expected.
#include "config/toml_section.hpp"

#include "config/suggest.hpp"

namespace ringlb::config::detail {

SourcePosition position(const toml::source_position& at) {
  return {static_cast<uint32_t>(at.line), static_cast<uint32_t>(at.column)};
}

SourcePosition position(const toml::node& node) { return position(node.source().begin); }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string value_text(const toml::node& node) {
  if (const auto* text = node.as_string()) return quoted(text->get());
  if (const auto* number = node.as_integer()) return std::to_string(number->get());
  return type_name(node.type());
}

namespace {

// A size bound in the largest unit that writes it exactly: "1 byte", "16 KiB", "1 MiB".
std::string size_text(uint64_t bytes) {
  constexpr std::array<const char*, 3> kUnits = {"KiB", "MiB", "GiB"};
  if (bytes == 0 || bytes % 1024 != 0) {
    return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  }
  size_t unit = 0;
  bytes >>= 10;
  while (unit + 1 < kUnits.size() && bytes % 1024 == 0) {
    bytes >>= 10;
    ++unit;
  }
  return std::to_string(bytes) + " " + kUnits[unit];
}

}  // namespace

const toml::node* Section::find(std::string_view key) {
  known_.emplace_back(key);
  const toml::node* node = table_.get(key);
  if (node != nullptr) context_.sources[child_path(key)] = position(*node);
  return node;
}

bool Section::read_string(std::string_view key, std::string& out, bool allow_empty) {
  const toml::node* node = typed(key, toml::node_type::string, "a string");
  if (node == nullptr) return false;
  const std::string& value = node->as_string()->get();
  if (!allow_empty && value.empty()) {
    error(position(*node), "'" + std::string(key) + "' must not be empty");
    return false;
  }
  out = value;
  return true;
}

void Section::integer_out_of_range(const toml::node& node, std::string_view key, int64_t value,
                                   int64_t min, int64_t max, bool bounded) const {
  std::string range = bounded ? "from " + std::to_string(min) + " to " + std::to_string(max)
                              : "at least " + std::to_string(min);
  error(position(node),
        "'" + std::string(key) + "' must be " + range + ", not " + std::to_string(value));
}

void Section::read_bool(std::string_view key, bool& out) {
  const toml::node* node = typed(key, toml::node_type::boolean, "a boolean (true or false)");
  if (node != nullptr) out = node->as_boolean()->get();
}

void Section::read_duration(std::string_view key, Duration& out, bool allow_zero) {
  const toml::node* node = typed(key, toml::node_type::string, "a duration string like \"2s\"");
  if (node == nullptr) return;
  std::optional<Duration> duration = parse_duration(node->as_string()->get());
  std::string name = "'" + std::string(key) + "'";
  if (!duration) {
    error(position(*node), name + " must be a duration like \"250ms\", \"2s\" or \"1m30s\" " +
                               "(units ms, s, m, h), not " + value_text(*node));
  } else if (!allow_zero && duration->count() == 0) {
    error(position(*node), name + " must be longer than 0");
  } else if (*duration > kMaxDuration) {
    error(position(*node), name + " must be at most \"576h\" (24 days), not " + value_text(*node));
  } else {
    out = *duration;
  }
}

void Section::read_size(std::string_view key, uint64_t& out, uint64_t min, uint64_t max) {
  const toml::node* node = find(key);
  if (node == nullptr) return;
  std::string name = "'" + std::string(key) + "'";
  std::optional<uint64_t> bytes;
  if (const auto* number = node->as_integer(); number != nullptr && number->get() >= 0) {
    bytes = static_cast<uint64_t>(number->get());
  } else if (const auto* text = node->as_string()) {
    bytes = parse_size(text->get());
  } else if (number == nullptr) {
    error(position(*node), name + " must be a size (\"32KiB\" or an integer of bytes), not " +
                               type_name(node->type()));
    return;
  }
  if (!bytes) {
    error(position(*node), name + " must be a size like \"512\", \"16KiB\" or \"1MiB\" " +
                               "(units B, KiB, MiB, GiB), not " + value_text(*node));
  } else if (*bytes < min) {
    error(position(*node),
          name + " must be at least " + size_text(min) + ", not " + value_text(*node));
  } else if (*bytes > max) {
    error(position(*node),
          name + " must be at most " + size_text(max) + ", not " + value_text(*node));
  } else {
    out = *bytes;
  }
}

std::optional<Address> Section::read_address(std::string_view key) {
  const toml::node* node =
      typed(key, toml::node_type::string, "an address string like \"127.0.0.1:8080\"");
  if (node == nullptr) return std::nullopt;
  std::string why;
  std::optional<Address> address = parse_address(node->as_string()->get(), &why);
  if (!address) {
    error(position(*node),
          "invalid address " + value_text(*node) + " for '" + std::string(key) + "': " + why);
  }
  return address;
}

std::optional<size_t> Section::read_choice(std::string_view key,
                                           const std::vector<std::string>& choices) {
  std::string value;
  if (!read_string(key, value)) return std::nullopt;
  auto found = std::find(choices.begin(), choices.end(), value);
  if (found != choices.end()) return static_cast<size_t>(found - choices.begin());
  error(at(key), not_one_of(std::string(key), choices, value));
  return std::nullopt;
}

bool Section::read_string_list(std::string_view key, std::vector<std::string>& out) {
  const toml::array* array = read_array(key);
  if (array == nullptr) return false;
  std::vector<std::string> values;
  for (const toml::node& element : *array) {
    if (const auto* text = element.as_string()) {
      values.push_back(text->get());
      continue;
    }
    error(position(element),
          "'" + std::string(key) + "' must hold only strings, not " + type_name(element.type()));
    return false;
  }
  out = std::move(values);
  return true;
}

const toml::table* Section::read_table(std::string_view key, std::string_view wanted) {
  const toml::node* node = typed(key, toml::node_type::table, wanted);
  return node == nullptr ? nullptr : node->as_table();
}

const toml::array* Section::read_array(std::string_view key) {
  const toml::node* node = typed(key, toml::node_type::array, "an array");
  return node == nullptr ? nullptr : node->as_array();
}

void Section::finish() const {
  for (auto&& [key, node] : table_) {
    if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
    error(position(key.source().begin), "unknown key '" + std::string(key.str()) + "' " + label() +
                                            did_you_mean(key.str(), known_));
  }
}

const toml::node* Section::typed(std::string_view key, toml::node_type type,
                                 std::string_view wanted) {
  const toml::node* node = find(key);
  if (node == nullptr || node->type() == type) return node;
  error(position(*node), "'" + std::string(key) + "' must be " + std::string(wanted) + ", not " +
                             type_name(node->type()));
  return nullptr;
}

std::string Section::label() const {
  if (path_.empty()) return "at the top level";
  if (path_.back() == ']') return "in " + path_;
  return "in [" + path_ + "]";
}

}  // namespace ringlb::config::detail
