// Reading one TOML table into the config structs: Section checks each key's type and syntax,
// records where it was written, and reports the keys nobody asked for. Shared by the loader's
// files (loader.cpp and load_*.cpp), the only ones that include toml++ (docs/architecture.md).
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostic.hpp"
#include "config/units.hpp"
#include "config/validate.hpp"

namespace ringlb::config::detail {

SourcePosition position(const toml::source_position& at);
SourcePosition position(const toml::node& node);
std::string quoted(std::string_view text);
// "a string", "an integer", ...: the type as a message names it.
std::string type_name(toml::node_type type);
// A value as the user wrote it, for quoting back in a message.
std::string value_text(const toml::node& node);

// The largest value of Int that a TOML integer (int64_t) can hold.
template <typename Int>
constexpr int64_t largest() {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<Int>::max());
  return static_cast<int64_t>(std::min<uint64_t>(kMax, std::numeric_limits<int64_t>::max()));
}

struct Context {
  Reporter& report;
  SourceMap& sources;
};

// One TOML table being read. Each read_* call names a key the table may hold: it records where
// the value is, checks its type and syntax, and stores it only when valid. finish() reports the
// keys that no read_* asked for, with the nearest known key as a suggestion.
class Section {
 public:
  Section(const toml::table& table, std::string path, Context& context)
      : table_(table), path_(std::move(path)), context_(context) {}

  Context& context() const { return context_; }
  SourcePosition where() const { return position(table_); }
  bool has(std::string_view key) const { return table_.contains(key); }
  std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  // Where `key`'s value was written, or where this table starts.
  SourcePosition at(std::string_view key) const {
    return position_of(context_.sources, child_path(key), where());
  }
  void error(SourcePosition location, std::string message) const {
    context_.report.error(location, std::move(message));
  }
  void warning(SourcePosition location, std::string message) const {
    context_.report.warning(location, std::move(message));
  }
  void require(std::string_view key, const std::string& message) const {
    if (!has(key)) error(where(), message);
  }

  const toml::node* peek(std::string_view key) const { return table_.get(key); }
  const toml::node* find(std::string_view key);

  bool read_string(std::string_view key, std::string& out, bool allow_empty = true);

  // Stores the integer at `key` when it is within [min, max]; max defaults to what Int holds.
  template <typename Int>
  void read_integer(std::string_view key, int64_t min, Int& out, int64_t max = largest<Int>()) {
    const toml::node* node = typed(key, toml::node_type::integer, "an integer");
    if (node == nullptr) return;
    int64_t value = node->as_integer()->get();
    if (value >= min && value <= max) {
      out = static_cast<Int>(value);
      return;
    }
    integer_out_of_range(*node, key, value, min, max, max < largest<Int>());
  }

  void read_bool(std::string_view key, bool& out);
  void read_duration(std::string_view key, Duration& out, bool allow_zero);
  void read_size(std::string_view key, uint64_t& out, uint64_t min,
                 uint64_t max = std::numeric_limits<uint64_t>::max());
  std::optional<Address> read_address(std::string_view key);
  // The index in `choices` of the word written at `key`.
  std::optional<size_t> read_choice(std::string_view key, const std::vector<std::string>& choices);
  // Stores the enum whose word is written at `key`; `words` are in enum order (config.hpp).
  template <typename Enum, size_t N>
  void read_enum(std::string_view key, const std::array<std::string_view, N>& words, Enum& out) {
    const std::vector<std::string> choices(words.begin(), words.end());
    if (std::optional<size_t> index = read_choice(key, choices)) out = static_cast<Enum>(*index);
  }
  // True when a list of strings was written at `key` and stored in `out`.
  bool read_string_list(std::string_view key, std::vector<std::string>& out);
  const toml::table* read_table(std::string_view key, std::string_view wanted = "a table");
  const toml::array* read_array(std::string_view key);

  void finish() const;

 private:
  const toml::node* typed(std::string_view key, toml::node_type type, std::string_view wanted);
  void integer_out_of_range(const toml::node& node, std::string_view key, int64_t value,
                            int64_t min, int64_t max, bool bounded) const;
  std::string label() const;

  const toml::table& table_;
  std::string path_;
  Context& context_;
  std::vector<std::string> known_;
};

// Reads the sub-table at `key` with `read`, then reports its unknown keys.
template <typename Read>
void read_section(Section& parent, std::string_view key, Read&& read) {
  const toml::table* table = parent.read_table(key);
  if (table == nullptr) return;
  Section child(*table, parent.child_path(key), parent.context());
  read(child);
  child.finish();
}

// Reads each table of the array at `key`; `example` shows the expected shape of an entry.
template <typename Read>
void read_entries(Section& parent, std::string_view key, std::string_view example, Read&& read) {
  const toml::array* array = parent.read_array(key);
  if (array == nullptr) return;
  std::string path = parent.child_path(key);
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& node = *array->get(i);
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      parent.error(position(node), "each entry of '" + std::string(key) +
                                       "' must be a table like " + std::string(example) + ", not " +
                                       type_name(node.type()));
      continue;
    }
    Section entry(*table, path + "[" + std::to_string(i) + "]", parent.context());
    read(entry);
    entry.finish();
  }
}

// Reads [KEY.NAME] tables (listeners, pools) in the order the file first names them.
template <typename Read>
void read_named(Section& parent, std::string_view key, std::string_view kind, Read&& read) {
  std::string wanted =
      "a table of named " + std::string(kind) + "s ([" + std::string(key) + ".NAME])";
  const toml::table* table = parent.read_table(key, wanted);
  if (table == nullptr) return;
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [name, node] : *table) entries.emplace_back(&name, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& x = a.first->source().begin;
    const toml::source_position& y = b.first->source().begin;
    return std::tie(x.line, x.column) < std::tie(y.line, y.column);
  });
  for (const auto& [name, node] : entries) {
    std::string path = std::string(key) + "." + std::string(name->str());
    if (node->as_table() == nullptr) {
      parent.error(position(*node), std::string(kind) + " '" + std::string(name->str()) +
                                        "' must be a table ([" + path + "]), not " +
                                        type_name(node->type()));
      continue;
    }
    parent.context().sources[path] = position(*node);
    Section section(*node->as_table(), path, parent.context());
    read(section, std::string(name->str()));
    section.finish();
  }
}

}  // namespace ringlb::config::detail
