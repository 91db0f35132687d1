// TlsStream's decrypting loop: one SSL_read per record until the caller's space is full.
#include "core/io/tls_stream.hpp"

namespace ringlb {

TlsStream::Status TlsStream::decrypt(std::span<char> space, size_t& filled) {
  filled = 0;
  Status status = Status::kOk;
  while (filled < space.size() && status == Status::kOk) {
    size_t read = 0;
    status = channel_->read(space.data() + filled, space.size() - filled, read);
    filled += read;
  }
  return status;
}

}  // namespace ringlb
