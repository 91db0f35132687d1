// The BIOs a TlsChannel gives OpenSSL in place of two BIO_s_mem: the output BIO appends each
// record straight to the string the ring sends from, so no memory BIO holds a second copy of
// the ciphertext (docs/perf2-plan.md §3). The input BIO reads from a DirectInput, which can
// serve a receive's bytes where they lie; TlsChannel::feed still ends each loan at once (the
// receive buffer goes back before decrypting), so today it copies once, as a memory BIO does.
// They are also where kTLS would attach: OpenSSL offers the kernel the keys through the output
// BIO's BIO_CTRL_SET_KTLS, which these refuse today (§2.6).
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <string>

namespace ringlb {

// Ciphertext from the peer as the input BIO sees it: the bytes of the receive being handled,
// lent and not copied, after whatever an earlier receive left unread (kept, copied once).
class DirectInput {
 public:
  // Lends `data` until end_loan(); the unread rest of an earlier loan is served first.
  void lend(const char* data, size_t length) {
    lent_ = data;
    lent_length_ = length;
  }
  // Copies what OpenSSL did not take of the loan, so the lender may reuse its buffer.
  void end_loan();
  // Moves up to `capacity` bytes to `out`; 0 when none waits.
  size_t take(char* out, size_t capacity);
  size_t waiting() const { return kept_.size() - kept_offset_ + lent_length_; }

 private:
  std::string kept_;  // unread bytes of earlier loans
  size_t kept_offset_ = 0;
  const char* lent_ = nullptr;
  size_t lent_length_ = 0;
};

// A BIO whose writes append to `queue` (the channel's, which outlives it). Null when out of
// memory. SSL_free frees it.
BIO* new_direct_output_bio(std::string& queue);
// A BIO whose reads take from `input`; an empty input is "retry", never end of file.
BIO* new_direct_input_bio(DirectInput& input);

}  // namespace ringlb
