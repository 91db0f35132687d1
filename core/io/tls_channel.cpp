// TlsChannel: an SSL object between two BIOs, and the send buffer the ring reads from while
// OpenSSL keeps appending to the output BIO (the direct BIO's queue, or a memory BIO).
#include "core/io/tls_channel.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <new>

namespace ringlb {
namespace {

constexpr size_t kKeptSendCapacity = size_t{64} * 1024;  // larger send buffers are freed once sent
constexpr size_t kRecordPlaintext = 16384;               // the most one TLS record carries
// What a record adds: header 5, AEAD tag 16, TLS 1.3's content type 1, TLS 1.2's explicit
// nonce 8; rounded up. A CBC suite can add more, and then the queue just grows once more.
constexpr size_t kRecordOverhead = 64;

size_t ciphertext_bound(size_t plaintext) {
  return plaintext + (plaintext / kRecordPlaintext + 1) * kRecordOverhead;
}

}  // namespace

TlsChannel::TlsChannel(SSL_CTX* context, Role role, const std::string& server_name,
                       bool verify_name, Bios bios) {
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr || !make_bios(bios)) {
    BIO_free(in_);
    BIO_free(out_);
    SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
    return;
  }
  SSL_set_bio(ssl_, in_, out_);
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    if (verify_name) SSL_set1_host(ssl_, server_name.c_str());
  }
}

TlsChannel::~TlsChannel() {
  SSL_free(ssl_);  // frees both BIOs
}

bool TlsChannel::make_bios(Bios bios) {
  direct_ = bios == Bios::kDirect;
  if (direct_) {
    in_ = new_direct_input_bio(input_);
    out_ = new_direct_output_bio(queued_);
    return in_ != nullptr && out_ != nullptr;
  }
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (in_ == nullptr || out_ == nullptr) return false;
  // An empty input BIO means "retry later", not end of file: more arrives with the next receive.
  BIO_set_mem_eof_return(in_, -1);
  return true;
}

bool TlsChannel::feed(const char* data, size_t length) {
  if (peer_closed_) return true;
  if (BIO_ctrl_pending(in_) + length > kMaxBufferedInput) return false;
  fed_total_ += length;
  if (direct_) {
    input_.lend(data, length);
    input_.end_loan();
    return true;
  }
  size_t written = 0;
  return BIO_write_ex(in_, data, length, &written) == 1;
}

TlsChannel::Status TlsChannel::status_of(int result) {
  const int error = SSL_get_error(ssl_, result);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return Status::kWantRead;
    case SSL_ERROR_ZERO_RETURN:
      peer_closed_ = true;
      return Status::kClosed;
    default:
      break;
  }
  const unsigned long code = ERR_peek_last_error();
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST) {
    plain_http_ = true;
  }
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  failure_ = reason ? reason : "protocol error";
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    failure_ += ": ";
    failure_ += X509_verify_cert_error_string(verify);
  }
  ERR_clear_error();
  return Status::kFailed;
}

TlsChannel::Status TlsChannel::handshake() {
  if (established_) return Status::kOk;
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    established_ = true;
    return Status::kOk;
  }
  return status_of(result);
}

TlsChannel::Status TlsChannel::read(char* out, size_t capacity, size_t& length) {
  length = 0;
  if (SSL_read_ex(ssl_, out, capacity, &length) == 1) return Status::kOk;
  return status_of(0);
}

void TlsChannel::write(std::string_view plaintext) {
  if (direct_) {
    // Room for this write's records at once: appended record by record, the queue would double
    // (copying what it holds) each time it outgrew its string, for a 64 KiB write from 64 KiB
    // of capacity, 48 KiB copied again. Out of memory, the direct BIO refuses the write.
    try {
      queued_.reserve(queued_.size() + ciphertext_bound(plaintext.size()));
    } catch (const std::bad_alloc&) {
    }
  }
  while (!plaintext.empty()) {
    size_t written = 0;
    if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written) != 1) {
      ERR_clear_error();  // only after a fatal alert; the session is closing then
      return;
    }
    plaintext.remove_prefix(written);
  }
}

void TlsChannel::shutdown() {
  if (shut_ || !established_) return;
  shut_ = true;
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string_view TlsChannel::next_send() {
  if (sending_offset_ == sending_buffer_.size()) {
    sending_offset_ = 0;
    if (direct_) {
      sending_buffer_.swap(queued_);  // the two strings take turns: no copy, no allocation
      queued_.clear();
    } else {
      take_memory_output();
    }
    if (sending_buffer_.empty()) return {};
  }
  sending_ = true;
  return std::string_view(sending_buffer_).substr(sending_offset_);
}

void TlsChannel::take_memory_output() {
  const size_t waiting = BIO_ctrl_pending(out_);
  sending_buffer_.resize(waiting);
  size_t read = 0;
  if (waiting > 0) BIO_read_ex(out_, sending_buffer_.data(), waiting, &read);
  sending_buffer_.resize(read);
}

void TlsChannel::on_sent(size_t sent) {
  sending_ = false;
  sending_offset_ += sent;
  sent_total_ += sent;
  if (sending_offset_ < sending_buffer_.size()) return;
  sending_offset_ = 0;
  sending_buffer_.clear();
  if (sending_buffer_.capacity() > kKeptSendCapacity) std::string().swap(sending_buffer_);
}

bool TlsChannel::flushed() const {
  return !sending_ && sending_offset_ == sending_buffer_.size() && BIO_ctrl_pending(out_) == 0;
}

bool TlsChannel::input_pending() const {
  return BIO_ctrl_pending(in_) > 0 || SSL_has_pending(ssl_) == 1;
}

bool TlsChannel::resumed() const { return SSL_session_reused(ssl_) == 1; }

uint64_t TlsChannel::produced() const { return BIO_number_written(out_); }

std::string_view TlsChannel::alpn() const {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &protocol, &length);
  return {reinterpret_cast<const char*>(protocol), length};
}

}  // namespace ringlb
