// The trailer fields of one chunked response, kept for an HTTP/2 client (issue 18: gRPC sends
// grpc-status there). The parser decides which fields to keep; this only stores them, copied,
// since the wire bytes are the caller's and are gone after parse(). Plain data, no Beast.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/http_message.hpp"

namespace ringlb::http {

class TrailerFields {
 public:
  // Forgets the fields and keeps the memory: a message without trailers costs nothing, and one
  // with them allocates only until the storage has grown to fit.
  void clear() {
    arena_.clear();
    stored_.clear();
    fields_.clear();
  }
  void add(std::string_view name, std::string_view value) {
    stored_.push_back({arena_.size(), name.size(), value.size()});
    arena_.append(name);
    arena_.append(value);
  }
  // Makes the views fields() returns, once the last field is in: only then does the arena stop
  // moving.
  void seal() {
    fields_.clear();
    for (const Stored& stored : stored_) {
      const std::string_view text(arena_.data() + stored.offset,
                                  stored.name_length + stored.value_length);
      fields_.push_back({text.substr(0, stored.name_length), text.substr(stored.name_length)});
    }
  }
  std::span<const Field> fields() const { return fields_; }

 private:
  // Where one field sits in the arena: its name, then its value.
  struct Stored {
    size_t offset = 0;
    size_t name_length = 0;
    size_t value_length = 0;
  };
  std::string arena_;
  std::vector<Stored> stored_;
  std::vector<Field> fields_;
};

}  // namespace ringlb::http
