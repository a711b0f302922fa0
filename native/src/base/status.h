// Status: the result of every fallible operation in the core.
//
// The core never throws. A function that can fail returns a Status: a code in SQLite's own
// numbering (primary code in the low byte, extended code above it, exactly as sqlite3.h has
// them, so codeName() can print 'SQLITE_IOERR_READ' and JavaScript sees the vocabulary SQLite
// users know), the errno the OS gave (0 when none), and a message that names the file and the
// operation. An ok Status carries no message and costs no allocation.
//
// Thread safety: a Status is a plain value; copy it freely between threads.
#pragma once

#include <string>

namespace litevault {

// Values are SQLite's result codes (sqlite3.h), so they can be compared with SQLite's.
enum class Code : int {
  kOk = 0,
  kError = 1,
  kInternal = 2,
  kPerm = 3,
  kAbort = 4,
  kBusy = 5,
  kLocked = 6,
  kNoMem = 7,
  kReadOnly = 8,
  kInterrupt = 9,
  kIoErr = 10,
  kCorrupt = 11,
  kNotFound = 12,
  kFull = 13,
  kCantOpen = 14,
  kProtocol = 15,
  kMisuse = 21,
  kNoLfs = 22,
  kAuth = 23,
  kRange = 25,
  kNotADb = 26,
  // Extended codes: primary | (n << 8).
  kIoErrRead = 10 | (1 << 8),
  kIoErrShortRead = 10 | (2 << 8),
  kIoErrWrite = 10 | (3 << 8),
  kIoErrFsync = 10 | (4 << 8),
  kIoErrTruncate = 10 | (6 << 8),
  kIoErrFstat = 10 | (7 << 8),
  kIoErrLock = 10 | (15 << 8),
  kIoErrAccess = 10 | (13 << 8),
  kIoErrShmOpen = 10 | (18 << 8),
  kIoErrShmSize = 10 | (19 << 8),
  kIoErrShmMap = 10 | (21 << 8),
  kBusyRecovery = 5 | (1 << 8),
  kBusySnapshot = 5 | (2 << 8),
  kCantOpenIsDir = 14 | (2 << 8),
  kReadOnlyRollback = 8 | (3 << 8),
  kReadOnlyCantInit = 8 | (5 << 8),
  // litevault's own conditions (vaults: docs/vault-format.md "Errors"), outside SQLite's range
  // (SQLite's codes fit in 16 bits), so they can never be mistaken for one of SQLite's.
  kVaultCorrupt = 0x10000 | 1,       // LITEVAULT_VAULT_CORRUPT: a damaged or malformed vault object
  kUnsupportedFormat = 0x10000 | 2,  // LITEVAULT_UNSUPPORTED_FORMAT: a vault object of an unknown version
  kBackupInProgress = 0x10000 | 3,   // LITEVAULT_BACKUP_IN_PROGRESS: the name's lock is held (retryable)
};

// 'SQLITE_IOERR_READ' for Code::kIoErrRead, 'LITEVAULT_VAULT_CORRUPT' for kVaultCorrupt; every
// Code has a name.
const char* codeName(Code code);

// The single place that decides which failures a caller may retry: BUSY and LOCKED (and their
// extended forms), and LITEVAULT_BACKUP_IN_PROGRESS (the other backup ends). Everything else is
// sticky on long-lived handles.
bool isRetryable(Code code);

class Status;
// Whether status is SQLITE_BUSY or one of its extended forms.
bool isBusy(const Status& status);

class Status {
 public:
  Status() = default;  // ok

  static Status ok() { return Status(); }
  static Status error(Code code, std::string message, int errnum = 0) {
    return Status(code, std::move(message), errnum);
  }
  // An OS failure: the message gets strerror(errnum) appended.
  static Status fromErrno(Code code, const std::string& message, int errnum);

  // The same failure with "'<path>': " in front of the message, unless the message already names
  // path (so every error reaching a user names the file it is about).
  Status about(const std::string& path) const;

  bool isOk() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int errnum() const { return errno_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string message, int errnum)
      : code_(code), errno_(errnum), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

// Propagate a failure to the caller: LV_RETURN_IF_ERROR(file->readAt(...));
#define LV_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::litevault::Status lv_status_ = (expr); \
    if (!lv_status_.isOk()) return lv_status_; \
  } while (0)

}  // namespace litevault
