// WAL read transactions: wal-index header reads, read marks, frame lookup; see wal.h.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "wal/wal.h"

namespace litevault {
Status Wal::open(const std::string& dbPath, uint32_t dbPageSize, std::unique_ptr<Wal>* out) {
  out->reset();
  File* wal = nullptr;
  // SQLite creates the -wal when it opens a WAL database; so do we, with the database's mode. It
  // is deleted only by the last-close rule (pager.h).
  LV_RETURN_IF_ERROR(openFile(dbPath + "-wal", OpenIntent::kCreate, &wal, dbPath));
  ShmNode* shm = nullptr;
  Status attached = ShmNode::attach(dbPath, &shm);
  if (!attached.isOk()) {
    releaseFile(wal);
    return attached;
  }
  out->reset(new Wal(dbPath, dbPageSize, shm, wal));
  return Status::ok();
}

Wal::Wal(std::string dbPath, uint32_t dbPageSize, ShmNode* shm, File* wal)
    : dbPath_(std::move(dbPath)), dbPageSize_(dbPageSize), shm_(shm), wal_(wal), walRef_(wal), locks_(*shm) {}

Wal::~Wal() {
  endRead();
  locks_.releaseAll();
  shm_->detach(deleteShm_);
}

WalCheckpointInfo Wal::checkpointInfo() {
  WalCheckpointInfo info;
  if (region0_ == nullptr) shm_->region(0, false, &region0_);
  if (region0_ == nullptr) return info;
  info.nBackfill = loadShmWord(region0_ + kNBackfillOffset);
  info.nBackfillAttempted = loadShmWord(region0_ + kNBackfillAttemptedOffset);
  for (int i = 0; i < kWalReaders; i++) info.readMarks[i] = loadShmWord(region0_ + kReadMarkOffset + 4 * i);
  return info;
}

// walIndexTryHdr: true when the header could NOT be read consistently.
bool Wal::tryIndexHeader(bool* changed) {
  uint8_t first[kWalIndexHdrSize];
  uint8_t second[kWalIndexHdrSize];
  std::memcpy(first, region0_, kWalIndexHdrSize);
  ShmNode::barrier();
  std::memcpy(second, region0_ + kWalIndexHdrSize, kWalIndexHdrSize);
  if (std::memcmp(first, second, kWalIndexHdrSize) != 0) return true;
  if (!walIndexHeaderValid(first)) return true;
  WalIndexHeader h = decodeWalIndexHeader(first);
  if (!haveHeader_ || !h.sameAs(header_)) *changed = true;
  header_ = h;
  haveHeader_ = true;
  walPageSize_ = h.pageSize;
  return false;
}

// walIndexReadHdr.
Status Wal::readIndexHeader(bool* changed) {
  if (region0_ == nullptr) LV_RETURN_IF_ERROR(shm_->region(0, false, &region0_));
  bool bad = region0_ == nullptr || tryIndexHeader(changed);
  if (bad) {
    // A FULL or stronger checkpointer already holds WRITE; it must keep it after the recovery.
    const bool takeWrite = !writing();
    if (takeWrite) LV_RETURN_IF_ERROR(locks_.lock(kWriteLock, 1, true));  // no waiting: BUSY goes to the caller
    Status status = shm_->region(0, true, &region0_);
    if (status.isOk()) {
      bad = tryIndexHeader(changed);
      if (bad) {
        status = recover();
        *changed = true;
      }
    }
    if (takeWrite) locks_.unlock(kWriteLock, 1, true);
    LV_RETURN_IF_ERROR(status);
  }
  if (header_.version != kWalIndexVersion) {
    return Status::error(Code::kCantOpen, "'" + dbPath_ + "-shm' has wal-index version " +
                                              std::to_string(header_.version) + ", not 3007000");
  }
  return Status::ok();
}

Status Wal::beginRead(bool* changed) { return beginReadWith(changed, false); }

Status Wal::beginReadWith(bool* changed, bool useWal) {
  *changed = false;
  if (reading()) return Status::error(Code::kMisuse, "a WAL read transaction is already open on '" + dbPath_ + "'");
  // walBeginReadTransaction: retry; from the 6th try sleep (1 us, then (n-9)^2 * 39 us);
  // give up with SQLITE_PROTOCOL after 100 tries.
  for (int count = 0;; count++) {
    if (count > 5) {
      int micros = count < 10 ? 1 : (count - 9) * (count - 9) * 39;
      std::this_thread::sleep_for(std::chrono::microseconds(micros));
    }
    Attempt attempt = Attempt::kDone;
    Status status = tryBeginRead(changed, useWal, &attempt);
    if (attempt == Attempt::kDone) return status;
    if (count >= 100) {
      return Status::error(Code::kProtocol, "locking protocol: could not start a WAL read transaction on '" + dbPath_ + "'");
    }
  }
}

Status Wal::tryBeginRead(bool* changed, bool useWal, Attempt* attempt) {
  *attempt = Attempt::kDone;
  Status status = readIndexHeader(changed);
  if (isBusy(status)) {
    // Someone holds WRITE. If nobody is recovering (RECOVER can be had shared), just retry.
    if (region0_ == nullptr) {
      *attempt = Attempt::kRetry;
      return status;
    }
    Status probe = locks_.lock(kRecoverLock, 1, false);
    if (probe.isOk()) {
      locks_.unlock(kRecoverLock, 1, false);
      *attempt = Attempt::kRetry;
      return status;
    }
    return isBusy(probe) ? Status::error(Code::kBusyRecovery, "'" + dbPath_ + "' is being recovered by another connection") : probe;
  }
  LV_RETURN_IF_ERROR(status);

  uint8_t* info = region0_;
  const uint32_t mxFrame = header_.mxFrame;
  // Everything is in the database file: READ_LOCK(0), and the WAL is not used.
  if (!useWal && loadShmWord(info + kNBackfillOffset) == mxFrame) {
    Status locked = locks_.lock(readLock(0), 1, false);
    if (locked.isOk()) {
      ShmNode::barrier();
      if (std::memcmp(region0_, header_.raw, kWalIndexHdrSize) != 0) {
        locks_.unlock(readLock(0), 1, false);
        *attempt = Attempt::kRetry;
        return Status::ok();
      }
      readLock_ = 0;
      minFrame_ = mxFrame + 1;
      return Status::ok();
    }
    if (!isBusy(locked)) return locked;
    // A checkpointer holds READ_LOCK(0) exclusively: use a read mark instead.
  }

  uint32_t mxReadMark = 0;
  int mxI = 0;
  for (int i = 1; i < kWalReaders; i++) {
    uint32_t mark = loadShmWord(info + kReadMarkOffset + 4 * i);
    if (mxReadMark <= mark && mark <= mxFrame) {
      mxReadMark = mark;
      mxI = i;
    }
  }
  if (mxReadMark < mxFrame || mxI == 0) {
    for (int i = 1; i < kWalReaders; i++) {
      Status locked = locks_.lock(readLock(i), 1, true);
      if (locked.isOk()) {
        storeShmWord(info + kReadMarkOffset + 4 * i, mxFrame);
        mxReadMark = mxFrame;
        mxI = i;
        locks_.unlock(readLock(i), 1, true);
        break;
      }
      if (!isBusy(locked)) return locked;
    }
  }
  if (mxI == 0) {
    *attempt = Attempt::kRetry;
    return Status::error(Code::kBusy, "no WAL read mark is available on '" + dbPath_ + "'");
  }
  Status locked = locks_.lock(readLock(mxI), 1, false);
  if (!locked.isOk()) {
    if (isBusy(locked)) *attempt = Attempt::kRetry;
    return locked;
  }
  minFrame_ = loadShmWord(info + kNBackfillOffset) + 1;
  ShmNode::barrier();
  if (loadShmWord(info + kReadMarkOffset + 4 * mxI) != mxReadMark ||
      std::memcmp(region0_, header_.raw, kWalIndexHdrSize) != 0) {
    locks_.unlock(readLock(mxI), 1, false);
    *attempt = Attempt::kRetry;
    return Status::ok();
  }
  readLock_ = mxI;
  return Status::ok();
}

void Wal::endRead() {
  if (readLock_ >= 0) locks_.unlock(readLock(readLock_), 1, false);
  readLock_ = -1;
}

// walFindFrame.
Status Wal::findFrame(uint32_t page, uint32_t* frame) {
  *frame = 0;
  if (readLock_ <= 0 || header_.mxFrame == 0) return Status::ok();  // the database file has it
  const uint32_t last = header_.mxFrame;
  const uint32_t lowestRegion = walIndexRegionOf(minFrame_);
  for (int64_t r = walIndexRegionOf(last); r >= int64_t(lowestRegion); r--) {
    uint8_t* region = nullptr;
    LV_RETURN_IF_ERROR(shm_->region(static_cast<uint32_t>(r), false, &region));
    if (region == nullptr) {
      return Status::error(Code::kCorrupt, "'" + dbPath_ + "-shm' is shorter than its header says");
    }
    const uint32_t base = walIndexRegionBase(static_cast<uint32_t>(r));
    const uint32_t* pages = reinterpret_cast<const uint32_t*>(region + walIndexPageArrayOffset(static_cast<uint32_t>(r)));
    const uint16_t* slots = reinterpret_cast<const uint16_t*>(region + kHashTableOffset);
    uint32_t found = 0;
    int probes = kHashSlotCount;
    for (uint32_t slot = walIndexHash(page);; slot = (slot + 1) & (kHashSlotCount - 1)) {
      uint16_t entry = __atomic_load_n(&slots[slot], __ATOMIC_RELAXED);
      if (entry == 0) break;
      if (entry > (r == 0 ? kHashFirstRegionPages : kHashPageCount)) {
        return Status::error(Code::kCorrupt, "'" + dbPath_ + "-shm' has a hash slot past its region");
      }
      uint32_t candidate = base + entry;
      if (candidate <= last && candidate >= minFrame_ && pages[entry - 1] == page) found = candidate;
      if (--probes == 0) return Status::error(Code::kCorrupt, "'" + dbPath_ + "-shm' has a hash table without an empty slot");
    }
    if (found != 0) {
      *frame = found;
      return Status::ok();
    }
  }
  return Status::ok();
}

Status Wal::readFrame(uint32_t frame, uint8_t* out) const {
  return wal_->readExactly(out, walPageSize_, walFrameOffset(frame, walPageSize_) + kWalFrameHeaderSize);
}

}  // namespace litevault
