// F_OFD_SETLK / F_OFD_GETLK wrappers; see ofd_lock.h.
#include "os/ofd_lock.h"

#include <errno.h>
#include <fcntl.h>

#include <unistd.h>

#include <cstring>
#include <string>

#include "os/db_lock.h"
#include "os/shm_layout.h"

namespace litevault {
namespace {

bool endsWith(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// What the holder of the lock on `byte` is doing, in SQLite's words (os_unix.c, wal.c) for a
// user: the database file's PENDING/RESERVED/SHARED bytes, or the -shm's WRITE, CKPT, RECOVER,
// READ(i) and DMS bytes. `theyWrite`: the conflicting lock is a write lock.
std::string lockMeaning(bool shm, uint64_t byte, bool theyWrite) {
  if (shm) {
    if (byte == kShmLockBase) return "it holds the WAL write lock (a write transaction is open)";
    if (byte == kShmLockBase + 1) return "it holds the checkpoint lock (a checkpoint is running)";
    if (byte == kShmLockBase + 2) return "it holds the WAL recovery lock (it is rebuilding the WAL index)";
    if (byte > kShmLockBase + 2 && byte < kShmDmsByte) {
      const std::string i = std::to_string(byte - kShmLockBase - 3);
      return theyWrite ? "it holds read mark " + i + " exclusively (it is starting a read or a checkpoint)"
                       : "it is reading a snapshot of the WAL (read lock " + i + ")";
    }
    if (byte == kShmDmsByte) {
      return theyWrite ? "it holds the -shm's DMS lock exclusively (it is opening or recovering the WAL)"
                       : "it has the database open in WAL mode (the -shm's DMS lock)";
    }
    return "it holds a lock on byte " + std::to_string(byte) + " of the -shm";
  }
  if (byte == kPendingLockByte) return "it holds the PENDING lock (it is waiting to commit)";
  if (byte == kReservedLockByte) return "it holds the write lock (RESERVED: a write transaction is open)";
  if (byte >= kSharedFirstByte && byte < kSharedFirstByte + kSharedSize) {
    return theyWrite ? "it holds the EXCLUSIVE lock (it is committing)" : "it is reading the database (a SHARED lock)";
  }
  return "it holds a lock on byte " + std::to_string(byte);
}

// F_OFD_GETLK: the first lock on [start, start+length) conflicting with `type` (l_type F_UNLCK
// when there is none, or when the query fails: the message then stays vaguer).
struct flock conflictingLock(const File& file, short type, uint64_t start, uint64_t length) {
  struct flock lock;
  std::memset(&lock, 0, sizeof(lock));
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(start);
  lock.l_len = static_cast<off_t>(length);
  int r;
  do r = fcntl(file.fd(), F_OFD_GETLK, &lock); while (r != 0 && errno == EINTR);
  if (r != 0) lock.l_type = F_UNLCK;
  return lock;
}

// The SQLITE_BUSY message for a lock we could not get: the database, who holds what, and (for
// a POSIX lock, SQLite's kind) the holder's pid.
std::string busyMessage(const File& file, short type, uint64_t start, uint64_t length) {
  const bool shm = endsWith(file.path(), "-shm");
  const std::string db = shm ? file.path().substr(0, file.path().size() - 4) : file.path();
  struct flock lock = conflictingLock(file, type, start, length);
  uint64_t byte = start;
  bool theyWrite = type == F_RDLCK;  // a read lock conflicts only with a write lock
  std::string who = "another connection";  // an OFD lock (l_pid -1): litevault, here or elsewhere
  if (lock.l_type != F_UNLCK) {
    if (static_cast<uint64_t>(lock.l_start) > start) byte = static_cast<uint64_t>(lock.l_start);
    theyWrite = lock.l_type == F_WRLCK;
    if (!shm && byte == kPendingLockByte) {
      // An EXCLUSIVE holder keeps PENDING too: name the stronger lock.
      struct flock exclusive = conflictingLock(file, F_RDLCK, kSharedFirstByte, kSharedSize);
      if (exclusive.l_type == F_WRLCK) byte = kSharedFirstByte;
    }
    if (lock.l_pid == getpid()) {
      who = "another SQLite connection in this process";
    } else if (lock.l_pid > 0) {
      who = "another process (pid " + std::to_string(lock.l_pid) + ")";
    }
  }
  return "database '" + db + "' is locked by " + who + ": " + lockMeaning(shm, byte, theyWrite);
}

short fcntlType(LockType type) {
  switch (type) {
    case LockType::kRead: return F_RDLCK;
    case LockType::kWrite: return F_WRLCK;
    case LockType::kUnlock: return F_UNLCK;
  }
  return F_UNLCK;
}

}  // namespace

#if defined(__linux__) && defined(F_OFD_SETLK)

Status setLock(const File& file, LockType type, uint64_t start, uint64_t length) {
  struct flock lock;
  std::memset(&lock, 0, sizeof(lock));  // l_pid must be 0 for OFD locks
  lock.l_type = fcntlType(type);
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(start);
  lock.l_len = static_cast<off_t>(length);
  int r;
  do r = fcntl(file.fd(), F_OFD_SETLK, &lock); while (r != 0 && errno == EINTR);
  if (r == 0) return Status::ok();
  if (errno == EAGAIN || errno == EACCES) {
    return Status::error(Code::kBusy, busyMessage(file, lock.l_type, start, length));
  }
  return Status::fromErrno(Code::kIoErrLock, "cannot lock '" + file.path() + "'", errno);
}

Status probeLock(const File& file, LockType type, uint64_t start, uint64_t length, bool* held, pid_t* holderPid) {
  struct flock lock;
  std::memset(&lock, 0, sizeof(lock));
  lock.l_type = fcntlType(type);
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(start);
  lock.l_len = static_cast<off_t>(length);
  int r;
  do r = fcntl(file.fd(), F_OFD_GETLK, &lock); while (r != 0 && errno == EINTR);
  if (r != 0) return Status::fromErrno(Code::kIoErrLock, "cannot test locks on '" + file.path() + "'", errno);
  *held = lock.l_type != F_UNLCK;
  if (holderPid != nullptr) *holderPid = *held ? lock.l_pid : 0;
  return Status::ok();
}

#else

Status setLock(const File& file, LockType, uint64_t, uint64_t) {
  return Status::error(Code::kIoErrLock, "cannot lock '" + file.path() + "': litevault is not supported on this platform");
}
Status probeLock(const File& file, LockType, uint64_t, uint64_t, bool*, pid_t*) {
  return Status::error(Code::kIoErrLock, "cannot lock '" + file.path() + "': litevault is not supported on this platform");
}

#endif

}  // namespace litevault
