// ByteBuffer: a heap byte array of fixed capacity whose bytes start uninitialized, with a size
// (how much of it holds data) at most that capacity. It exists for the big buffers a scan keeps
// and reuses (page images, finished packs): std::vector::resize zero-fills, which faults in
// every page of a buffer at once, and a buffer that is only partly used for most of its life
// (a pack that compressed to half its images) would then cost its whole capacity in RSS.
//
// Invariant: size() <= capacity(); bytes past size() are unspecified.
// Thread safety: none of its own; it belongs to whoever holds the unique_ptr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace litevault {

class ByteBuffer {
 public:
  explicit ByteBuffer(size_t capacity) : data_(new uint8_t[capacity]), capacity_(capacity) {}
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  // n <= capacity(): the caller wrote data()[0 .. n).
  void setSize(size_t n) { size_ = n; }
  // size() + n <= capacity().
  void append(const uint8_t* bytes, size_t n) {
    std::memcpy(data_.get() + size_, bytes, n);
    size_ += n;
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t capacity_;
  size_t size_ = 0;
};

}  // namespace litevault
