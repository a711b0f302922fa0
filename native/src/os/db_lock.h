// SQLite's rollback-mode database file locks (reference §2.1, §2.2; os_unix.c unixLock,
// posixUnlock, unixCheckReservedLock), taken as OFD locks on exactly SQLite's bytes:
//
//   PENDING  0x40000000        RESERVED 0x40000001        SHARED   0x40000002 .. +509
//
//   NONE -> SHARED       read-lock PENDING, read-lock the SHARED range, unlock PENDING
//   SHARED -> RESERVED   write-lock RESERVED
//   RESERVED -> EXCL.    write-lock PENDING (state PENDING: no new readers), then write-lock SHARED
//   SHARED -> EXCL.      write-lock the SHARED range only (hot-journal rollback, WAL last close)
//   down to SHARED       read-lock the SHARED range, unlock PENDING and RESERVED
//   down to NONE         unlock everything, once no other connection of ours holds SHARED
//
// All of our connections to one inode share one open file description (os/file.h), so the
// kernel sees one owner; between them this class applies SQLite's in-process rules from
// unixLock (a connection may not go past SHARED while another of ours holds more than SHARED,
// nor to EXCLUSIVE while another of ours holds SHARED), using the File's InodeLocks.
//
// Every call makes one attempt and returns SQLITE_BUSY on a conflict; waiting with a busy
// timeout is the pager's job.
//
// Thread safety: one DbLock per connection, used by one thread at a time (its connection's
// mutex); the shared InodeLocks are guarded by their own mutex.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "os/file.h"

namespace litevault {

constexpr uint64_t kPendingLockByte = 0x40000000;
constexpr uint64_t kReservedLockByte = kPendingLockByte + 1;
constexpr uint64_t kSharedFirstByte = kPendingLockByte + 2;
constexpr uint64_t kSharedSize = 510;

class DbLock {
 public:
  explicit DbLock(const File& file) : file_(file) {}
  DbLock(const DbLock&) = delete;
  DbLock& operator=(const DbLock&) = delete;

  DbLockLevel level() const { return level_; }

  // Raises this connection's lock to `level` (kShared, kReserved or kExclusive) by one attempt.
  // EXCLUSIVE from RESERVED passes through PENDING; EXCLUSIVE straight from SHARED does not
  // (SQLite's hot-journal path: every process that saw the hot journal fails alike). On BUSY
  // the level is unchanged, except that a failed EXCLUSIVE from RESERVED is recorded as PENDING
  // (the PENDING byte is then held), as in unixLock, so that our other connections take no new
  // SHARED while the caller retries; a failed SHARED->EXCLUSIVE leaves the state SHARED.
  Status lock(DbLockLevel level);

  // Lowers this connection's lock to kShared or kNone.
  Status unlock(DbLockLevel level);

  // Whether any connection (another of ours, or anyone else) holds RESERVED or more.
  Status checkReserved(bool* reserved) const;

  // Releases whatever is still held, so a handle that is dropped never leaks locks.
  ~DbLock() { unlock(DbLockLevel::kNone); }

 private:
  const File& file_;
  DbLockLevel level_ = DbLockLevel::kNone;
};

}  // namespace litevault
