// SQLite's database lock transitions over OFD locks, with in-process arbitration; see db_lock.h.
#include "os/db_lock.h"

#include "os/ofd_lock.h"

namespace litevault {
namespace {

Status busyInProcess(const File& file) {
  return Status::error(Code::kBusy, "database is locked: '" + file.path() +
                                        "' is locked by another litevault handle in this process");
}

}  // namespace

Status DbLock::lock(DbLockLevel want) {
  if (level_ >= want) return Status::ok();
  InodeLocks& inode = file_.dbLocks();
  std::lock_guard<std::mutex> guard(inode.mutex);

  // Another of our connections holds a level that forbids this request.
  if (level_ != inode.strongest && (inode.strongest >= DbLockLevel::kPending || want > DbLockLevel::kShared)) {
    return busyInProcess(file_);
  }
  // SHARED while ours already read or reserve: the kernel lock is already there.
  if (want == DbLockLevel::kShared &&
      (inode.strongest == DbLockLevel::kShared || inode.strongest == DbLockLevel::kReserved)) {
    level_ = DbLockLevel::kShared;
    inode.sharedHolders++;
    return Status::ok();
  }

  // PENDING: read-locked briefly to get SHARED (fails while a writer waits for EXCLUSIVE),
  // write-locked on the way from RESERVED to EXCLUSIVE.
  if (want == DbLockLevel::kShared || (want == DbLockLevel::kExclusive && level_ == DbLockLevel::kReserved)) {
    LockType type = want == DbLockLevel::kShared ? LockType::kRead : LockType::kWrite;
    LV_RETURN_IF_ERROR(setLock(file_, type, kPendingLockByte, 1));
  }

  if (want == DbLockLevel::kShared) {
    Status got = setLock(file_, LockType::kRead, kSharedFirstByte, kSharedSize);
    Status dropped = setLock(file_, LockType::kUnlock, kPendingLockByte, 1);
    if (!got.isOk()) return got;
    if (!dropped.isOk()) {
      setLock(file_, LockType::kUnlock, kSharedFirstByte, kSharedSize);
      return dropped;
    }
    level_ = DbLockLevel::kShared;
    inode.strongest = DbLockLevel::kShared;
    inode.sharedHolders = 1;
    return Status::ok();
  }

  Status got;
  if (want == DbLockLevel::kExclusive && inode.sharedHolders > 1) {
    got = busyInProcess(file_);  // our other connections still read
  } else if (want == DbLockLevel::kReserved) {
    got = setLock(file_, LockType::kWrite, kReservedLockByte, 1);
  } else {
    got = setLock(file_, LockType::kWrite, kSharedFirstByte, kSharedSize);
  }
  if (got.isOk()) {
    level_ = want;
    inode.strongest = want;
  } else if (want == DbLockLevel::kExclusive && level_ == DbLockLevel::kReserved) {
    // PENDING is really held (taken above): no new SHARED, ours or anyone's, while we retry.
    // From SHARED (hot journal, last close) no PENDING was taken, so the state stays SHARED.
    level_ = DbLockLevel::kPending;
    inode.strongest = DbLockLevel::kPending;
  }
  return got;
}

Status DbLock::unlock(DbLockLevel want) {
  if (level_ <= want) return Status::ok();
  InodeLocks& inode = file_.dbLocks();
  std::lock_guard<std::mutex> guard(inode.mutex);
  Status result;
  if (level_ > DbLockLevel::kShared) {
    if (want == DbLockLevel::kShared) {
      result = setLock(file_, LockType::kRead, kSharedFirstByte, kSharedSize);
    }
    Status dropped = setLock(file_, LockType::kUnlock, kPendingLockByte, 2);  // PENDING and RESERVED
    if (result.isOk()) result = dropped;
    inode.strongest = DbLockLevel::kShared;
  }
  if (want == DbLockLevel::kNone) {
    if (--inode.sharedHolders == 0) {
      Status dropped = setLock(file_, LockType::kUnlock, kPendingLockByte, 2 + kSharedSize);
      if (result.isOk()) result = dropped;
      inode.strongest = DbLockLevel::kNone;
    }
  }
  level_ = want;
  return result;
}

Status DbLock::checkReserved(bool* reserved) const {
  {
    InodeLocks& inode = file_.dbLocks();
    std::lock_guard<std::mutex> guard(inode.mutex);
    if (inode.strongest > DbLockLevel::kShared) {
      *reserved = true;
      return Status::ok();
    }
  }
  return probeLock(file_, LockType::kWrite, kReservedLockByte, 1, reserved);
}

}  // namespace litevault
