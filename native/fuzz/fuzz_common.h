// Helpers shared by litevault's libFuzzer targets (native/fuzz/fuzz_*.cc).
//
// FUZZ_CHECK aborts (libFuzzer then saves the input as a crash) when a property that the code
// under test promises does not hold; sanitizers (ASan, UBSan) catch everything else.
//
// MemFile puts the fuzz input into an anonymous memfd and wraps it in a litevault File that owns
// the descriptor (closed when destroyed, never registered in the process-wide registry of
// os/file.h, so nothing leaks from one input to the next). Reads and writes through it are the
// same pread/pwrite calls as on a real file.
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "os/file.h"

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace fuzz {

inline void writeAll(int fd, const uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t w = ::write(fd, data + done, size - done);
    FUZZ_CHECK(w > 0);
    done += static_cast<size_t>(w);
  }
}

// A File over a memfd holding `size` bytes of `data`.
inline std::unique_ptr<litevault::File> memFile(const char* name, const uint8_t* data, size_t size) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  writeAll(fd, data, size);
  struct stat st;
  FUZZ_CHECK(fstat(fd, &st) == 0);
  return std::unique_ptr<litevault::File>(
      new litevault::File(fd, st.st_dev, st.st_ino, /*writable=*/true, std::string("memfd:") + name, /*owned=*/true));
}

// The whole content of a File (its real length: File::size reads a 1-byte file as empty, as
// SQLite's unixFileSize does).
inline std::vector<uint8_t> contents(const litevault::File& file) {
  struct stat st;
  FUZZ_CHECK(fstat(file.fd(), &st) == 0);
  const uint64_t size = uint64_t(st.st_size);
  std::vector<uint8_t> out(size_t(size), 0);
  size_t got = 0;
  if (size != 0) FUZZ_CHECK(file.readAt(out.data(), out.size(), 0, &got).isOk());
  FUZZ_CHECK(got == size);
  return out;
}

// Every Status must carry a code with a name and, unless ok, a message.
inline void checkStatus(const litevault::Status& s) {
  FUZZ_CHECK(litevault::codeName(s.code()) != nullptr);
  if (!s.isOk()) FUZZ_CHECK(!s.message().empty());
  else FUZZ_CHECK(s.message().empty());
}

inline uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace fuzz
