// Checkpoints: copying WAL frames back into the database (sqlite3WalCheckpoint, walCheckpoint,
// walBusyLock; reference §7); see wal.h.
//
// Lock order: CKPT (exclusive, held by the caller from lockCheckpointer() on), then for FULL,
// RESTART and TRUNCATE the WRITE lock (waiting), then each read mark below the WAL's end
// (briefly exclusive, to move it up or find the reader that pins it), then READ_LOCK(0)
// exclusive while the database file is written, so that no new reader takes the
// "database file only" path meanwhile.
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "base/busy_wait.h"
#include "os/sync_point.h"
#include "wal/wal.h"

namespace litevault {
Status Wal::lockCheckpointer() {
  if (reading()) return Status::error(Code::kLocked, "a checkpoint cannot run inside a read transaction on '" + dbPath_ + "'");
  // A second checkpointer on this same connection (another Checkpoint handle) is busy at once,
  // like a second SQLite checkpointer: ShmLocks would treat the held lock as already ours.
  if (locks_.holdsExclusive(kCheckpointLock)) {
    return Status::error(Code::kBusy, "'" + dbPath_ + "' is being checkpointed by another checkpoint on this handle");
  }
  Status locked = locks_.lock(kCheckpointLock, 1, true);
  if (isBusy(locked)) return Status::error(Code::kBusy, "'" + dbPath_ + "' is being checkpointed by another connection");
  return locked;
}

Status Wal::lockWriter(int busyTimeoutMs) {
  if (!locks_.holdsExclusive(kCheckpointLock) || reading()) {
    return Status::error(Code::kMisuse, "lockWriter() needs the checkpoint lock and no read transaction on '" + dbPath_ + "'");
  }
  if (writing()) return Status::ok();
  Status locked = retryWhileBusy(busyTimeoutMs, [&] { return locks_.lock(kWriteLock, 1, true); });
  if (isBusy(locked)) return Status::error(Code::kBusy, "'" + dbPath_ + "' is being written by another connection");
  return locked;
}

void Wal::unlockCheckpointer() {
  endWrite();
  locks_.unlock(kCheckpointLock, 1, true);
}

// Copies, for every page, its newest frame in (nBackfill, limit] (pages past mxPage skipped)
// into the database, then syncs it and moves nBackfill to limit. Holds READ_LOCK(0) exclusively
// meanwhile; if that is busy (a reader's snapshot is the database file alone, or one is
// mid-start) nothing is copied and *blocked is set: SQLite's walCheckpoint then ends the
// checkpoint (OK for PASSIVE, BUSY for FULL and stronger). The caller has checked that limit
// frames fit in the -wal file, so the allocation below is bounded by the file's size.
Status Wal::backfill(uint32_t limit, uint32_t mxPage, bool wait, int busyTimeoutMs, const File& db, uint32_t dbPageSize,
                     bool* blocked) {
  *blocked = false;
  const uint32_t from = loadShmWord(region0_ + kNBackfillOffset);
  if (limit <= from) return Status::ok();

  // walIteratorInit: each page once, with its largest frame <= limit, in page order.
  std::vector<std::pair<uint32_t, uint32_t>> pages;  // (page, frame)
  pages.reserve(limit - from);
  for (uint32_t r = walIndexRegionOf(from + 1); r <= walIndexRegionOf(limit); r++) {
    uint8_t* region = nullptr;
    LV_RETURN_IF_ERROR(shm_->region(r, false, &region));
    if (region == nullptr) return Status::error(Code::kCorrupt, "'" + dbPath_ + "-shm' is shorter than its header says");
    const uint32_t base = walIndexRegionBase(r);
    const uint32_t* numbers = reinterpret_cast<const uint32_t*>(region + walIndexPageArrayOffset(r));
    const uint32_t first = std::max(from + 1, base + 1);
    const uint32_t last = std::min(limit, base + (r == 0 ? kHashFirstRegionPages : kHashPageCount));
    for (uint32_t f = first; f <= last; f++) pages.emplace_back(numbers[f - base - 1], f);
  }
  std::stable_sort(pages.begin(), pages.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  Status locked = wait ? retryWhileBusy(busyTimeoutMs, [&] { return locks_.lock(readLock(0), 1, true); })
                       : locks_.lock(readLock(0), 1, true);
  if (isBusy(locked)) {
    *blocked = true;
    return Status::ok();
  }
  LV_RETURN_IF_ERROR(locked);
  Status status;
  // The WAL-reset fix of SQLite 3.51.3: if a writer restarted the WAL since our header was read,
  // these frames belong to an older generation; copy nothing.
  if (std::memcmp(region0_ + 32, header_.salt, 8) != 0) {
    locks_.unlock(readLock(0), 1, true);
    *blocked = true;
    return Status::ok();
  }
  // walCheckpoint: a database smaller than the committed size by more than the WAL could
  // explain is corrupt, not something to extend.
  uint64_t dbSize = 0;
  status = db.size(&dbSize);
  const uint64_t committedSize = uint64_t(mxPage) * dbPageSize;
  if (status.isOk() && dbSize < committedSize && dbSize + 65536 + uint64_t(header_.mxFrame) * dbPageSize < committedSize) {
    status = Status::error(Code::kCorrupt, "'" + dbPath_ + "-wal' commits " + std::to_string(mxPage) +
                                               " pages, far more than the database and the WAL hold");
  }
  if (!status.isOk()) {
    locks_.unlock(readLock(0), 1, true);
    return status;
  }
  storeShmWord(region0_ + kNBackfillAttemptedOffset, limit);
  status = wal_->sync();  // the frames are durable before the database depends on them
  std::vector<uint8_t> page(walPageSize_);
  for (size_t i = 0; status.isOk() && i < pages.size(); i++) {
    if (i + 1 < pages.size() && pages[i + 1].first == pages[i].first) continue;  // an older frame of the same page
    const uint32_t number = pages[i].first;
    if (number > mxPage) continue;
    status = readFrame(pages[i].second, page.data());
    if (status.isOk()) status = db.writeAt(page.data(), dbPageSize, uint64_t(number - 1) * dbPageSize);
  }
  if (status.isOk() && limit == loadShmWord(region0_ + 16)) {
    // The whole WAL is in the database: cut it to the committed size.
    status = db.truncate(uint64_t(header_.nPage) * dbPageSize);
  }
  // Unlike SQLite, which syncs only after a full backfill, every step is made durable before
  // nBackfill moves, so a crash between steps loses nothing and readers stay correct.
  if (status.isOk()) status = db.sync();
  LV_SYNC_POINT("checkpoint-before-nbackfill");
  if (status.isOk()) storeShmWord(region0_ + kNBackfillOffset, limit);
  locks_.unlock(readLock(0), 1, true);
  return status;
}

Status Wal::checkpointStep(CheckpointMode mode, int busyTimeoutMs, int64_t frames, const File& db, uint32_t dbPageSize,
                           CheckpointProgress* out) {
  bool changed = false;
  Status status = checkpointStepWith(mode, busyTimeoutMs, frames, db, dbPageSize, out, &changed);
  // sqlite3WalCheckpoint: "if( isChanged ) memset(&pWal->hdr, 0, ...)": the checkpoint read a
  // wal-index header newer than this connection's last snapshot, so forget it; the next read
  // transaction then reports `changed` (a restart-mode backup on this handle starts over).
  if (changed) haveHeader_ = false;
  return status;
}

Status Wal::checkpointStepWith(CheckpointMode mode, int busyTimeoutMs, int64_t frames, const File& db, uint32_t dbPageSize,
                               CheckpointProgress* out, bool* changedOut) {
  *out = CheckpointProgress();
  if (!locks_.holdsExclusive(kCheckpointLock)) {
    return Status::error(Code::kMisuse, "checkpointStep() without the checkpoint lock on '" + dbPath_ + "'");
  }
  // FULL and stronger: the writer lock, waiting; failing that, carry on as PASSIVE and say busy.
  CheckpointMode effective = mode;
  if (mode != CheckpointMode::kPassive && !writing()) {
    Status locked = retryWhileBusy(busyTimeoutMs, [&] { return locks_.lock(kWriteLock, 1, true); });
    if (isBusy(locked)) {
      effective = CheckpointMode::kPassive;
      out->busy = true;
    } else {
      LV_RETURN_IF_ERROR(locked);
    }
  }
  const bool wait = effective != CheckpointMode::kPassive;

  bool changed = false;
  Status read = readIndexHeader(&changed);
  *changedOut = changed;
  LV_RETURN_IF_ERROR(read);
  if (header_.mxFrame != 0 && walPageSize_ != dbPageSize) {
    return Status::error(Code::kCorrupt, "'" + dbPath_ + "-wal' has page size " + std::to_string(walPageSize_) +
                                             " but the database has " + std::to_string(dbPageSize));
  }
  // mxFrame comes from shared memory: a header with a good checksum may still claim more
  // frames than the -wal holds. Everything sized by it below is bounded by this check.
  if (header_.mxFrame != 0) {
    uint64_t walSize = 0;
    LV_RETURN_IF_ERROR(wal_->size(&walSize));
    if (walFrameOffset(header_.mxFrame, walPageSize_) + kWalFrameHeaderSize + walPageSize_ > walSize) {
      return Status::error(Code::kCorrupt, "'" + dbPath_ + "-shm' says the WAL has " + std::to_string(header_.mxFrame) +
                                               " frames, more than '" + dbPath_ + "-wal' holds");
    }
  }

  uint8_t* info = region0_;
  const uint32_t mxFrame = header_.mxFrame;
  if (loadShmWord(info + kNBackfillOffset) < mxFrame) {
    // mxSafeFrame: no further than any reader's mark that cannot be moved.
    uint32_t safe = mxFrame;
    bool useBusy = wait;
    for (int i = 1; i < kWalReaders; i++) {
      const uint32_t mark = loadShmWord(info + kReadMarkOffset + 4 * i);
      if (safe <= mark) continue;
      Status locked = useBusy ? retryWhileBusy(busyTimeoutMs, [&] { return locks_.lock(readLock(i), 1, true); })
                              : locks_.lock(readLock(i), 1, true);
      if (locked.isOk()) {
        storeShmWord(info + kReadMarkOffset + 4 * i, i == 1 ? safe : kReadMarkNotUsed);
        locks_.unlock(readLock(i), 1, true);
      } else if (isBusy(locked)) {
        safe = mark;
        useBusy = false;
      } else {
        return locked;
      }
    }
    const uint32_t from = loadShmWord(info + kNBackfillOffset);
    uint32_t limit = safe;
    if (frames >= 0 && uint64_t(from) + uint64_t(frames) < limit) limit = from + static_cast<uint32_t>(frames);
    bool blocked = false;
    LV_RETURN_IF_ERROR(backfill(limit, header_.nPage, wait, busyTimeoutMs, db, dbPageSize, &blocked));
    if (limit < safe && !blocked) {  // a partial step: more to do next time
      out->log = mxFrame;
      out->checkpointed = loadShmWord(info + kNBackfillOffset);
      return Status::ok();
    }
  }
  out->done = true;

  if (effective != CheckpointMode::kPassive) {
    if (loadShmWord(info + kNBackfillOffset) < mxFrame) {
      out->busy = true;  // a reader kept us from the end
    } else if (effective >= CheckpointMode::kRestart) {
      // Wait until no reader uses the WAL, so the next writer starts it over.
      Status locked = retryWhileBusy(busyTimeoutMs, [&] { return locks_.lock(readLock(1), kWalReaders - 1, true); });
      if (locked.isOk()) {
        Status status;
        if (effective == CheckpointMode::kTruncate) {
          restartHeader();
          status = wal_->truncate(0);
        }
        locks_.unlock(readLock(1), kWalReaders - 1, true);
        LV_RETURN_IF_ERROR(status);
      } else if (isBusy(locked)) {
        out->busy = true;
      } else {
        return locked;
      }
    }
  }
  out->log = header_.mxFrame;
  out->checkpointed = loadShmWord(info + kNBackfillOffset);
  return Status::ok();
}

}  // namespace litevault
