// F_OFD_SETLK / F_OFD_GETLK wrappers; see ofd_lock.h.
#include "os/ofd_lock.h"

#include <errno.h>
#include <fcntl.h>

#include <cstring>

namespace litevault {
namespace {

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
    return Status::error(Code::kBusy, "database is locked: '" + file.path() + "' (byte " + std::to_string(start) + ")");
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
