// A completed request header block becomes a Head, or is refused before any event names it.
// nghttp2 has already checked the block (pseudo-headers present, once, first; no uppercase names,
// no connection-specific fields, no CR/LF/NUL; content-length a number); what it does not check
// is done here (issue 18 item 5): `:authority` and Host that disagree (400), CONNECT (501).
#include <charconv>

#include "core/http/h2_connection_impl.hpp"

namespace ringlb::http {
namespace {

// RFC 9113 §8.2.3: a client may split `cookie` into crumbs for better compression; an HTTP/1.1
// upstream wants one field, joined with "; ". The joined value is appended to the block's text
// (whose capacity is kept across streams) before any view into it is made. Returns false when
// there is at most one crumb, so nothing needs joining.
bool join_cookies(FieldBlock& block, FieldBlock::Offsets& joined) {
  size_t crumbs = 0;
  size_t size = 0;
  for (const FieldBlock::Offsets& at : block.offsets) {
    if (block.name(at) != "cookie") continue;
    if (crumbs++ == 0) joined = at;
    size += at.value_size + 2;
  }
  if (crumbs < 2) return false;
  const auto start = static_cast<uint32_t>(block.text.size());
  block.text.reserve(block.text.size() + size);  // no reallocation below: the views hold
  for (const FieldBlock::Offsets& at : block.offsets) {
    if (block.name(at) != "cookie") continue;
    if (block.text.size() > start) block.text.append("; ");
    block.text.append(block.value(at));
  }
  joined.value = start;
  joined.value_size = static_cast<uint32_t>(block.text.size() - start);
  return true;
}

struct AsideFields {
  std::string_view host_field;
  std::string_view content_length;
};

// Maps the block onto the Head: pseudo-headers to its members, host and content-length aside,
// the cookie crumbs as one field where the first one was, te dropped (hop-by-hop).
AsideFields map_fields(H2Stream& stream) {
  FieldBlock& block = stream.request_fields;
  FieldBlock::Offsets cookie{};
  const bool joined = join_cookies(block, cookie);
  bool cookie_done = false;
  Head& head = stream.request.head;
  AsideFields aside;
  for (const FieldBlock::Offsets& at : block.offsets) {
    const std::string_view name = block.name(at);
    const std::string_view value = block.value(at);
    if (name == ":method")
      head.method = value;
    else if (name == ":path")
      head.target = value;
    else if (name == ":authority")
      head.host = value;
    else if (name == ":scheme")
      stream.request.scheme = value;
    else if (name == "host")
      aside.host_field = value;
    else if (name == "content-length")
      aside.content_length = value;
    else if (joined && name == "cookie") {
      if (!cookie_done) head.fields.push_back({name, block.value(cookie)});
      cookie_done = true;
    } else if (name != "te" && !name.starts_with(':'))
      head.fields.push_back({name, value});
  }
  return aside;
}

}  // namespace

void H2Connection::Impl::refuse(H2Stream& stream, const char* status) {
  static constexpr char kStatus[] = ":status";
  nghttp2_nv status_nv = {reinterpret_cast<uint8_t*>(const_cast<char*>(kStatus)),
                          reinterpret_cast<uint8_t*>(const_cast<char*>(status)), sizeof kStatus - 1,
                          std::char_traits<char>::length(status), NGHTTP2_NV_FLAG_NONE};
  stream.refused = true;
  nghttp2_submit_response(session, stream.id, &status_nv, 1, nullptr);
}

void H2Connection::Impl::deliver_head(H2Stream& stream, bool end_stream) {
  Head& head = stream.request.head;
  const AsideFields aside = map_fields(stream);
  // RFC 9113 §8.3.1: a Host that disagrees with :authority names two origins; a proxy that
  // picked one and forwarded the other would route by one and serve the other.
  if (!head.host.empty() && !aside.host_field.empty() && !iequals(head.host, aside.host_field)) {
    refuse(stream, "400");
    return;
  }
  // Tunnels are not offered (extended CONNECT is not enabled, so nghttp2 refuses :protocol).
  if (head.method == "CONNECT") {
    refuse(stream, "501");
    return;
  }
  if (head.host.empty()) head.host = aside.host_field;
  head.version = 20;
  if (!aside.content_length.empty()) {
    head.framing = Framing::kContentLength;
    std::from_chars(aside.content_length.data(),
                    aside.content_length.data() + aside.content_length.size(), head.content_length);
  } else {
    head.framing = end_stream ? Framing::kNone : Framing::kChunked;
  }
  stream.request.end_stream = end_stream;
  stream.head_delivered = true;
  events.on_request_head(stream.id, stream.request);
  if (end_stream) events.on_request_end(stream.id);
}

}  // namespace ringlb::http
