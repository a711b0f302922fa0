// Writing to a descriptor we do not own; see out_fd.h.
#include "os/out_fd.h"

#include <errno.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <vector>

namespace litevault {
namespace {

// EAGAIN on a non-blocking descriptor: wait until it takes more. Else the error.
Status waitWritable(int fd, int err, const std::string& what) {
  if (err != EAGAIN && err != EWOULDBLOCK) return Status::fromErrno(Code::kIoErrWrite, "cannot write to " + what, err);
  pollfd p{fd, POLLOUT, 0};
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return Status::fromErrno(Code::kIoErrWrite, "cannot wait for " + what, errno);
  }
  return Status::ok();
}

Status writeZeros(int fd, size_t n, const std::string& what) {
  static const std::vector<uint8_t> zeros(65536);
  while (n > 0) {
    const size_t k = n < zeros.size() ? n : zeros.size();
    LV_RETURN_IF_ERROR(writeAllTo(fd, zeros.data(), k, what));
    n -= k;
  }
  return Status::ok();
}

}  // namespace

Status writeAllTo(int fd, const uint8_t* data, size_t n, const std::string& what) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = write(fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      LV_RETURN_IF_ERROR(waitWritable(fd, errno, what));
      continue;
    }
    if (w == 0) return Status::error(Code::kIoErrWrite, "cannot write to " + what + ": the system wrote 0 bytes", EIO);
    done += static_cast<size_t>(w);
  }
  return Status::ok();
}

Status sendFileTo(int fd, const File& file, uint64_t offset, size_t n, const std::string& what) {
  off_t at = static_cast<off_t>(offset);
  size_t left = n;
  while (left > 0) {
    const ssize_t s = sendfile(fd, file.fd(), &at, left);
    if (s > 0) {
      left -= static_cast<size_t>(s);
      continue;
    }
    if (s == 0) return writeZeros(fd, left, what);  // the file ends: the rest reads as zeros
    if (errno == EINTR) continue;
    if (errno == EINVAL || errno == ENOSYS) {  // a descriptor sendfile cannot write: copy through memory
      std::vector<uint8_t> buffer(left < (1u << 20) ? left : (1u << 20));
      while (left > 0) {
        const size_t k = left < buffer.size() ? left : buffer.size();
        size_t got = 0;
        LV_RETURN_IF_ERROR(file.readAt(buffer.data(), k, static_cast<uint64_t>(at), &got));
        if (got < k) std::fill(buffer.begin() + got, buffer.begin() + k, 0);
        LV_RETURN_IF_ERROR(writeAllTo(fd, buffer.data(), k, what));
        at += static_cast<off_t>(k);
        left -= k;
      }
      return Status::ok();
    }
    LV_RETURN_IF_ERROR(waitWritable(fd, errno, what));
  }
  return Status::ok();
}

}  // namespace litevault
