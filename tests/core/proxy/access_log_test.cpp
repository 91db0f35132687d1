// The access log's escaping: whatever bytes a client sends, a text line still splits into its
// key=value fields and a JSON line is still one valid JSON object in valid UTF-8.
#include "core/proxy/access_log.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ringlb {
namespace {

using config::LogFormat;

std::string escaped(std::string_view value, LogFormat format, size_t capacity = 256) {
  std::string out(capacity, '?');
  return escape_log_value(value, format, out);
}

std::string text(std::string_view value) { return escaped(value, LogFormat::kText); }
std::string json(std::string_view value) { return escaped(value, LogFormat::kJson); }

TEST(AccessLogText, PlainTokensAreKept) {
  EXPECT_EQ(text("GET"), "GET");
  EXPECT_EQ(text("/a/b?c=d&e=%20"), "/a/b?c=d&e=%20");
  EXPECT_EQ(text("5b0e1c0ffee0000000000000000000aa"), "5b0e1c0ffee0000000000000000000aa");
}

TEST(AccessLogText, AnEmptyValueIsADash) {
  EXPECT_EQ(text(""), "-");
  EXPECT_EQ(json(""), "-");
}

TEST(AccessLogText, SpacesCannotStartAFieldOfTheirOwn) {
  EXPECT_EQ(text("q end=forged status=999"), "q\\x20end=forged\\x20status=999");
}

TEST(AccessLogText, TabsControlsQuotesBackslashesAndHighBytesAreHex) {
  EXPECT_EQ(text("a\tb"), "a\\x09b");
  EXPECT_EQ(text("a\nb\rc"), "a\\x0ab\\x0dc");
  EXPECT_EQ(text(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(text("\"q\\"), "\\x22q\\x5c");
  EXPECT_EQ(text("\x7f\x80\xff"), "\\x7f\\x80\\xff");
  EXPECT_EQ(text("\xc3\xa9"), "\\xc3\\xa9");  // UTF-8 too: a text line stays ASCII
}

TEST(AccessLogJson, QuotesAndBackslashesAreBackslashed) {
  EXPECT_EQ(json("say \"hi\" \\o/"), "say \\\"hi\\\" \\\\o/");
}

TEST(AccessLogJson, ControlCharactersAndDelAreUnicodeEscapes) {
  EXPECT_EQ(json("a\tb\nc"), "a\\u0009b\\u000ac");
  EXPECT_EQ(json(std::string_view("\0\x1f\x7f", 3)), "\\u0000\\u001f\\u007f");
  EXPECT_EQ(json("q end=forged status=999"), "q end=forged status=999");
}

TEST(AccessLogJson, ValidUtf8IsKept) {
  EXPECT_EQ(json("caf\xc3\xa9"), "caf\xc3\xa9");            // U+00E9
  EXPECT_EQ(json("\xe2\x82\xac"), "\xe2\x82\xac");          // U+20AC
  EXPECT_EQ(json("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // U+1F600
  EXPECT_EQ(json("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF
  EXPECT_EQ(json("\xed\x9f\xbf"), "\xed\x9f\xbf");          // U+D7FF
}

TEST(AccessLogJson, EachByteOfInvalidUtf8IsEscaped) {
  EXPECT_EQ(json("\xff"), "\\u00ff");
  EXPECT_EQ(json("\x80"), "\\u0080");                        // a stray continuation byte
  EXPECT_EQ(json("\xc3"), "\\u00c3");                        // cut short
  EXPECT_EQ(json("\xc3(x"), "\\u00c3(x");                    // not followed by a continuation
  EXPECT_EQ(json("\xc0\xaf"), "\\u00c0\\u00af");             // overlong '/'
  EXPECT_EQ(json("\xe0\x80\xaf"), "\\u00e0\\u0080\\u00af");  // overlong '/'
  EXPECT_EQ(json("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080");  // a UTF-16 surrogate
  EXPECT_EQ(json("\xf4\x90\x80\x80"), "\\u00f4\\u0090\\u0080\\u0080");  // past U+10FFFF
  EXPECT_EQ(json("\xf8\x88\x80\x80\x80"), "\\u00f8\\u0088\\u0080\\u0080\\u0080");
}

TEST(AccessLogEscape, ALongValueIsCutBetweenEscapesNeverInsideOne) {
  // Room for 7 bytes and the NUL: "ab" and one 4-byte escape fit, the next escape does not.
  EXPECT_EQ(escaped("ab\t\tcd", LogFormat::kText, 8), "ab\\x09");
  EXPECT_EQ(escaped("ab\t\tcd", LogFormat::kJson, 8), "ab");
  // A UTF-8 sequence is kept whole or not at all.
  EXPECT_EQ(escaped("abcde\xe2\x82\xac", LogFormat::kJson, 8), "abcde");
  EXPECT_EQ(escaped("abcd\xe2\x82\xac", LogFormat::kJson, 8), "abcd\xe2\x82\xac");
  EXPECT_EQ(escaped(std::string(1000, 'x'), LogFormat::kText, 100), std::string(99, 'x'));
}

}  // namespace
}  // namespace ringlb
