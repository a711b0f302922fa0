// Writing to a descriptor litevault does not own (standard output, for `litevault backup db -`):
// all bytes or an error, waiting (poll) when the descriptor is non-blocking and full, and
// moving file data with sendfile(2), so the kernel copies page-cache pages to a file, splices
// them into a pipe, or drops them for /dev/null, without a pass through user memory. SIGPIPE is
// ignored by Node, so a reader that went away is EPIPE here: SQLITE_IOERR_WRITE with errno set.
// The descriptor is never closed or locked here.
//
// Thread safety: plain syscalls; callers serialize the writes to one descriptor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "os/file.h"

namespace litevault {

// Writes data[0..n) to fd. `what` names the destination in messages ("standard output").
Status writeAllTo(int fd, const uint8_t* data, size_t n, const std::string& what);

// Sends n bytes of `file` from `offset` to fd; bytes past the file's end go as zeros (as
// File::readAt's callers read them). Falls back to pread + write where sendfile is refused.
Status sendFileTo(int fd, const File& file, uint64_t offset, size_t n, const std::string& what);

}  // namespace litevault
