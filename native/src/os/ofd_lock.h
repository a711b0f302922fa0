// Open-file-description (OFD) byte-range locks, the only lock primitive litevault uses.
//
// OFD locks (F_OFD_SETLK, Linux >= 3.15) belong to the open file description, not the process,
// so they conflict with SQLite's POSIX locks in other processes AND with the POSIX locks of a
// SQLite copy loaded in this very process (fcntl(2): "even when they are acquired by the same
// process on the same file descriptor"), and no close() by another library can drop them.
// Every call is non-blocking: a conflict is SQLITE_BUSY, and waiting is the caller's business
// (a busy timeout above this layer).
//
// Thread safety: plain syscalls on a File; callers serialize per file (see db_lock.h).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/status.h"
#include "os/file.h"

namespace litevault {

enum class LockType { kRead, kWrite, kUnlock };

// Sets, changes or removes our lock on [start, start+length). SQLITE_BUSY on a conflict,
// SQLITE_IOERR_LOCK on any other failure.
Status setLock(const File& file, LockType type, uint64_t start, uint64_t length);

// Whether anyone other than our open file description holds a lock on [start, start+length)
// that conflicts with `type` (F_OFD_GETLK). holderPid is the POSIX holder's pid, or -1 for an
// OFD lock.
Status probeLock(const File& file, LockType type, uint64_t start, uint64_t length, bool* held,
                 pid_t* holderPid = nullptr);

}  // namespace litevault
