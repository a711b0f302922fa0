// Names of result codes and the retry rule; see status.h.
#include "base/status.h"

#include <cstring>

namespace litevault {

const char* codeName(Code code) {
  switch (code) {
    case Code::kOk: return "SQLITE_OK";
    case Code::kError: return "SQLITE_ERROR";
    case Code::kInternal: return "SQLITE_INTERNAL";
    case Code::kPerm: return "SQLITE_PERM";
    case Code::kAbort: return "SQLITE_ABORT";
    case Code::kBusy: return "SQLITE_BUSY";
    case Code::kLocked: return "SQLITE_LOCKED";
    case Code::kNoMem: return "SQLITE_NOMEM";
    case Code::kReadOnly: return "SQLITE_READONLY";
    case Code::kInterrupt: return "SQLITE_INTERRUPT";
    case Code::kIoErr: return "SQLITE_IOERR";
    case Code::kCorrupt: return "SQLITE_CORRUPT";
    case Code::kNotFound: return "SQLITE_NOTFOUND";
    case Code::kFull: return "SQLITE_FULL";
    case Code::kCantOpen: return "SQLITE_CANTOPEN";
    case Code::kProtocol: return "SQLITE_PROTOCOL";
    case Code::kMisuse: return "SQLITE_MISUSE";
    case Code::kNoLfs: return "SQLITE_NOLFS";
    case Code::kAuth: return "SQLITE_AUTH";
    case Code::kRange: return "SQLITE_RANGE";
    case Code::kNotADb: return "SQLITE_NOTADB";
    case Code::kIoErrRead: return "SQLITE_IOERR_READ";
    case Code::kIoErrShortRead: return "SQLITE_IOERR_SHORT_READ";
    case Code::kIoErrWrite: return "SQLITE_IOERR_WRITE";
    case Code::kIoErrFsync: return "SQLITE_IOERR_FSYNC";
    case Code::kIoErrTruncate: return "SQLITE_IOERR_TRUNCATE";
    case Code::kIoErrFstat: return "SQLITE_IOERR_FSTAT";
    case Code::kIoErrLock: return "SQLITE_IOERR_LOCK";
    case Code::kIoErrAccess: return "SQLITE_IOERR_ACCESS";
    case Code::kIoErrShmOpen: return "SQLITE_IOERR_SHMOPEN";
    case Code::kIoErrShmSize: return "SQLITE_IOERR_SHMSIZE";
    case Code::kIoErrShmMap: return "SQLITE_IOERR_SHMMAP";
    case Code::kBusyRecovery: return "SQLITE_BUSY_RECOVERY";
    case Code::kBusySnapshot: return "SQLITE_BUSY_SNAPSHOT";
    case Code::kCantOpenIsDir: return "SQLITE_CANTOPEN_ISDIR";
    case Code::kReadOnlyRollback: return "SQLITE_READONLY_ROLLBACK";
    case Code::kReadOnlyCantInit: return "SQLITE_READONLY_CANTINIT";
    case Code::kVaultCorrupt: return "LITEVAULT_VAULT_CORRUPT";
    case Code::kUnsupportedFormat: return "LITEVAULT_UNSUPPORTED_FORMAT";
    case Code::kBackupInProgress: return "LITEVAULT_BACKUP_IN_PROGRESS";
  }
  return "SQLITE_ERROR";
}

bool isRetryable(Code code) {
  if (code == Code::kBackupInProgress) return true;
  if (static_cast<int>(code) > 0xffff) return false;  // litevault's own codes have no SQLite primary
  const int primary = static_cast<int>(code) & 0xff;
  return primary == static_cast<int>(Code::kBusy) || primary == static_cast<int>(Code::kLocked);
}

bool isBusy(const Status& status) {
  if (static_cast<int>(status.code()) > 0xffff) return false;
  return (static_cast<int>(status.code()) & 0xff) == static_cast<int>(Code::kBusy);
}

Status Status::fromErrno(Code code, const std::string& message, int errnum) {
  return Status(code, message + ": " + std::strerror(errnum), errnum);
}

Status Status::about(const std::string& path) const {
  if (isOk() || message_.find(path) != std::string::npos) return *this;
  return Status(code_, "'" + path + "': " + message_, errno_);
}

}  // namespace litevault
