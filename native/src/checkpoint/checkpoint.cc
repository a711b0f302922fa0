// The stepped checkpoint handle; see checkpoint.h.
#include "checkpoint/checkpoint.h"

namespace litevault {

Status Checkpoint::step(int64_t frames, Result* out) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (done_) {
    *out = last_;
    return Status::ok();
  }
  std::lock_guard<std::mutex> connectionGuard(connection_->mutex);
  Pager* pager = connection_->pager.get();
  if (pager == nullptr) return Status::error(Code::kMisuse, "checkpoint on a closed database handle");
  // sqlite3BtreeCheckpoint: a connection with an open transaction cannot checkpoint
  // (SQLITE_LOCKED). Checked on every step: a snapshot backup may have pinned a read
  // transaction on this handle since the previous one. The handle stays usable (retryable).
  if (pager->state() != Pager::State::kNone) {
    return Status::error(Code::kLocked, "cannot checkpoint '" + pager->path() +
                                            "': this handle has an open transaction (a snapshot backup's source or a backup's destination)");
  }
  Result result;
  if (!holdsLock_) {
    bool isWal = false;
    LV_RETURN_IF_ERROR(pager->joinWal(&isWal));
    if (!isWal) {
      result.done = true;  // not a WAL database: nothing to do, log and checkpointed are -1
      done_ = true;
      last_ = *out = result;
      return Status::ok();
    }
    Status locked = pager->wal()->lockCheckpointer();
    if (locked.code() == Code::kBusy) {
      result.done = result.busy = true;  // another checkpointer: SQLITE_BUSY at once, -1/-1
      done_ = true;
      last_ = *out = result;
      return Status::ok();
    }
    LV_RETURN_IF_ERROR(locked);
    holdsLock_ = true;
  }
  Wal::CheckpointProgress progress;
  Status status = pager->wal()->checkpointStep(mode_, busyTimeoutMs_, frames, pager->file(), pager->pageSize(), &progress);
  if (!status.isOk()) {
    pager->wal()->unlockCheckpointer();
    holdsLock_ = false;
    return status.about(pager->path());
  }
  result.done = progress.done;
  result.busy = progress.busy;
  result.log = progress.log;
  result.checkpointed = progress.checkpointed;
  if (progress.done) {
    pager->wal()->unlockCheckpointer();
    holdsLock_ = false;
    done_ = true;
  } else {
    pager->wal()->endWrite();  // writers may commit between steps
  }
  last_ = *out = result;
  return Status::ok();
}

Status Checkpoint::finish() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (holdsLock_) {
    std::lock_guard<std::mutex> connectionGuard(connection_->mutex);
    if (connection_->pager && connection_->pager->wal()) connection_->pager->wal()->unlockCheckpointer();
    holdsLock_ = false;
  }
  done_ = true;
  return Status::ok();
}

}  // namespace litevault
