// The direct BIOs: two BIO_METHODs made once per process (OpenSSL shares a method between
// threads; only the BIO's data, one channel's buffers, is per connection).
#include "core/io/tls_direct_bio.hpp"

#include <openssl/bio.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace ringlb {
namespace {

constexpr size_t kKeptInputCapacity = size_t{64} * 1024;  // larger leftovers are freed once read

int write_output(BIO* bio, const char* data, size_t length, size_t* written) {
  BIO_clear_retry_flags(bio);
  try {
    static_cast<std::string*>(BIO_get_data(bio))->append(data, length);
  } catch (const std::bad_alloc&) {
    return 0;  // as a memory BIO that cannot grow: OpenSSL fails the write
  }
  *written = length;
  return 1;
}

int read_input(BIO* bio, char* out, size_t capacity, size_t* read) {
  BIO_clear_retry_flags(bio);
  *read = static_cast<DirectInput*>(BIO_get_data(bio))->take(out, capacity);
  if (*read > 0) return 1;
  BIO_set_retry_read(bio);  // more arrives with the next receive: WANT_READ, not end of file
  return 0;
}

// Written bytes are queued at once, so a flush has nothing to wait for. BIO_CTRL_SET_KTLS (72)
// falls to `default` and is refused: OpenSSL then keeps encrypting itself. Answering it is where
// kTLS transmit starts (docs/perf2-plan.md §2.6): keep the crypto_info, return 1, and have the
// channel send its queue, set TLS_TX on the socket, then take plaintext.
long control_output(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(static_cast<std::string*>(BIO_get_data(bio))->size());
    default:
      return 0;
  }
}

long control_input(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(static_cast<DirectInput*>(BIO_get_data(bio))->waiting());
    default:
      return 0;  // BIO_CTRL_EOF included: an empty input is never the end
  }
}

int create(BIO*) { return 1; }
int destroy(BIO*) { return 1; }  // the buffers belong to the channel

BIO_METHOD* make_method(const char* name, bool output) {
  BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, name);
  if (method == nullptr) return nullptr;
  BIO_meth_set_create(method, create);
  BIO_meth_set_destroy(method, destroy);
  if (output) {
    BIO_meth_set_write_ex(method, write_output);
    BIO_meth_set_ctrl(method, control_output);
  } else {
    BIO_meth_set_read_ex(method, read_input);
    BIO_meth_set_ctrl(method, control_input);
  }
  return method;
}

BIO* new_bio(const BIO_METHOD* method, void* data) {
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, data);
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace

void DirectInput::end_loan() {
  if (lent_length_ > 0) {
    kept_.erase(0, kept_offset_);
    kept_offset_ = 0;
    kept_.append(lent_, lent_length_);
  }
  lent_ = nullptr;
  lent_length_ = 0;
}

size_t DirectInput::take(char* out, size_t capacity) {
  size_t taken = 0;
  if (kept_offset_ < kept_.size()) {
    taken = std::min(capacity, kept_.size() - kept_offset_);
    std::memcpy(out, kept_.data() + kept_offset_, taken);
    kept_offset_ += taken;
    if (kept_offset_ == kept_.size()) {
      kept_.clear();
      kept_offset_ = 0;
      if (kept_.capacity() > kKeptInputCapacity) std::string().swap(kept_);
    }
  }
  const size_t from_loan = std::min(capacity - taken, lent_length_);
  if (from_loan > 0) {
    std::memcpy(out + taken, lent_, from_loan);
    lent_ += from_loan;
    lent_length_ -= from_loan;
  }
  return taken + from_loan;
}

BIO* new_direct_output_bio(std::string& queue) {
  static BIO_METHOD* const kMethod = make_method("ringlb direct output", true);
  return new_bio(kMethod, &queue);
}

BIO* new_direct_input_bio(DirectInput& input) {
  static BIO_METHOD* const kMethod = make_method("ringlb direct input", false);
  return new_bio(kMethod, &input);
}

}  // namespace ringlb
