// VaultLock: "a backup of <name> is running" (docs/vault-format.md "Locks"): an OFD write lock
// (os/ofd_lock.h, F_OFD_SETLK) on the whole of locks/<name>.lock, taken by ONE attempt. The file
// is created 0600 if missing and never deleted; it is opened privately (os/file.h openLockFile),
// never through the registry of database files, and closing it drops the lock, so the kernel
// releases it when its holder exits or is killed. A second lock of the same file, by this process
// (another open file description) or another, fails with LITEVAULT_BACKUP_IN_PROGRESS
// (retryable).
//
// Thread safety: acquire() from any thread; release() may be called from any thread, at most
// concurrently with itself (a mutex), and is idempotent. The destructor releases.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "os/file.h"

namespace litevault {

class VaultLock {
 public:
  // Errors: LITEVAULT_BACKUP_IN_PROGRESS "a backup of '<name>' is in progress (lock <path>
  // held)", SQLITE_CANTOPEN, SQLITE_IOERR_LOCK.
  static Status acquire(const std::string& path, std::unique_ptr<VaultLock>* out);
  ~VaultLock() { release(); }

  // Unlocks and closes the descriptor.
  Status release();
  bool held() const;

 private:
  explicit VaultLock(std::unique_ptr<File> file) : file_(std::move(file)) {}
  mutable std::mutex mutex_;
  std::unique_ptr<File> file_;  // guarded by mutex_; null once released
};

}  // namespace litevault
