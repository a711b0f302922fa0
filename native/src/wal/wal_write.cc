// WAL write transactions: begin, restart, frame appends, commit and undo; see wal.h.
#include <cstring>
#include <random>
#include <vector>

#include "format/byte_order.h"
#include "wal/wal.h"

namespace litevault {
namespace {

uint32_t randomWord() {
  static thread_local std::mt19937 generator{std::random_device{}()};
  return static_cast<uint32_t>(generator());
}

}  // namespace

Status Wal::beginWrite() {
  if (!reading()) return Status::error(Code::kMisuse, "a WAL write needs a read transaction on '" + dbPath_ + "'");
  LV_RETURN_IF_ERROR(locks_.lock(kWriteLock, 1, true));
  // Another connection committed after our snapshot: writing on top of it would lose its work.
  if (std::memcmp(region0_, header_.raw, kWalIndexHdrSize) != 0) {
    locks_.unlock(kWriteLock, 1, true);
    return Status::error(Code::kBusySnapshot, "'" + dbPath_ + "' changed since this transaction's snapshot");
  }
  lastFrame_ = header_.mxFrame;
  running_ = header_.frameChecksum;
  return Status::ok();
}

// walIndexWriteHdr: copy 1, barrier, copy 0.
Status Wal::writeIndexHeader() {
  header_.version = kWalIndexVersion;
  header_.isInit = 1;
  uint8_t bytes[kWalIndexHdrSize];
  encodeWalIndexHeader(&header_, bytes);
  std::memcpy(region0_ + kWalIndexHdrSize, bytes, kWalIndexHdrSize);
  ShmNode::barrier();
  std::memcpy(region0_, bytes, kWalIndexHdrSize);
  return Status::ok();
}

// walRestartHdr: a new, empty WAL generation (salt-1 + 1, a random salt-2), with every frame
// counted as gone. The caller holds WRITE and READ_LOCK(1..4) exclusively.
void Wal::restartHeader() {
  checkpointSequence_++;
  header_.mxFrame = 0;
  put4(header_.salt, get4(header_.salt) + 1);
  put4(header_.salt + 4, randomWord());
  restartedSalts_ = true;
  writeIndexHeader();
  storeShmWord(region0_ + kNBackfillOffset, 0);
  storeShmWord(region0_ + kNBackfillAttemptedOffset, 0);
  storeShmWord(region0_ + kReadMarkOffset + 4, 0);
  for (int i = 2; i < kWalReaders; i++) storeShmWord(region0_ + kReadMarkOffset + 4 * i, kReadMarkNotUsed);
}

// walRestartLog: when the reader saw every frame backfilled (READ_LOCK(0)) and nobody reads the
// WAL (READ_LOCK(1..4) can be had), start the WAL over with new salts; then move to a real read
// mark so that this connection sees its own frames.
Status Wal::restartLog() {
  if (readLock_ != 0) return Status::ok();
  if (loadShmWord(region0_ + kNBackfillOffset) > 0) {
    Status locked = locks_.lock(readLock(1), kWalReaders - 1, true);
    if (locked.isOk()) {
      restartHeader();
      locks_.unlock(readLock(1), kWalReaders - 1, true);
    } else if (!isBusy(locked)) {
      return locked;
    }
  }
  endRead();
  bool changed = false;
  LV_RETURN_IF_ERROR(beginReadWith(&changed, true));
  lastFrame_ = header_.mxFrame;
  running_ = header_.frameChecksum;
  return Status::ok();
}

Status Wal::appendFrames(const FrameToWrite* frames, size_t count, uint32_t commitPageCount, uint32_t pageSize) {
  if (!writing()) return Status::error(Code::kMisuse, "appendFrames() without the WAL write lock on '" + dbPath_ + "'");
  if (lastFrame_ == header_.mxFrame) LV_RETURN_IF_ERROR(restartLog());
  if (lastFrame_ != 0 && header_.mxFrame != 0 && header_.pageSize != pageSize) {
    return Status::error(Code::kCorrupt, "'" + dbPath_ + "-wal' holds pages of " + std::to_string(header_.pageSize) + " bytes, not " +
                                             std::to_string(pageSize));
  }
  const bool bigEndian = lastFrame_ == 0 ? kNativeBigEndian : header_.bigEndianChecksum != 0;
  if (lastFrame_ == 0) {
    // A new WAL: its header, with fresh salts (or the ones a restart chose), synced before frames.
    if (!restartedSalts_) {
      put4(header_.salt, randomWord());
      put4(header_.salt + 4, randomWord());
    }
    uint8_t walHeader[kWalHeaderSize];
    put4(walHeader, kWalMagic | (bigEndian ? 1u : 0u));
    put4(walHeader + 4, kWalFormatVersion);
    put4(walHeader + 8, pageSize);
    put4(walHeader + 12, checkpointSequence_);
    std::memcpy(walHeader + 16, header_.salt, 8);
    WalChecksum sum;
    walChecksum(bigEndian, walHeader, 24, &sum);
    put4(walHeader + 24, sum.s0);
    put4(walHeader + 28, sum.s1);
    LV_RETURN_IF_ERROR(wal_->writeAt(walHeader, sizeof(walHeader), 0));
    LV_RETURN_IF_ERROR(wal_->sync());
    running_ = sum;
    header_.bigEndianChecksum = bigEndian ? 1 : 0;
    header_.pageSize = pageSize;
    walPageSize_ = pageSize;
    restartedSalts_ = false;
  }
  const size_t frameSize = kWalFrameHeaderSize + pageSize;
  std::vector<uint8_t> buffer(frameSize * count);
  for (size_t i = 0; i < count; i++) {
    uint8_t* f = buffer.data() + i * frameSize;
    put4(f, frames[i].page);
    put4(f + 4, i + 1 == count ? commitPageCount : 0);
    std::memcpy(f + 8, header_.salt, 8);
    std::memcpy(f + kWalFrameHeaderSize, frames[i].data, pageSize);
    walChecksum(bigEndian, f, 8, &running_);
    walChecksum(bigEndian, f + kWalFrameHeaderSize, pageSize, &running_);
    put4(f + 16, running_.s0);
    put4(f + 20, running_.s1);
  }
  LV_RETURN_IF_ERROR(wal_->writeAt(buffer.data(), buffer.size(), walFrameOffset(lastFrame_ + 1, pageSize)));
  for (size_t i = 0; i < count; i++) LV_RETURN_IF_ERROR(appendIndex(lastFrame_ + 1 + static_cast<uint32_t>(i), frames[i].page));
  lastFrame_ += static_cast<uint32_t>(count);
  if (commitPageCount == 0) return Status::ok();

  // Commit: synchronous=FULL syncs the WAL before the new header makes the frames visible.
  LV_RETURN_IF_ERROR(wal_->sync());
  header_.mxFrame = lastFrame_;
  header_.nPage = commitPageCount;
  header_.pageSize = pageSize;
  header_.frameChecksum = running_;
  header_.change++;
  return writeIndexHeader();
}

// sqlite3WalUndo: forget the uncommitted frames (they stay in the file, past mxFrame, where
// readers never look and recovery never counts them) and clear their hash entries.
void Wal::undo() {
  if (!writing()) return;
  std::memcpy(header_.raw, region0_, kWalIndexHdrSize);
  header_ = decodeWalIndexHeader(header_.raw);
  if (lastFrame_ > header_.mxFrame) {
    const uint32_t r = walIndexRegionOf(header_.mxFrame + 1);
    uint8_t* region = nullptr;
    if (shm_->region(r, false, &region).isOk() && region != nullptr) {
      const uint32_t limit = header_.mxFrame - walIndexRegionBase(r);
      uint16_t* slots = reinterpret_cast<uint16_t*>(region + kHashTableOffset);
      uint32_t* pages = reinterpret_cast<uint32_t*>(region + walIndexPageArrayOffset(r));
      for (uint32_t s = 0; s < kHashSlotCount; s++) {
        if (slots[s] > limit) slots[s] = 0;
      }
      const uint32_t entries = r == 0 ? kHashFirstRegionPages : kHashPageCount;
      std::memset(pages + limit, 0, (entries - limit) * sizeof(uint32_t));
    }
  }
  lastFrame_ = header_.mxFrame;
}

void Wal::endWrite() {
  if (writing()) locks_.unlock(kWriteLock, 1, true);
}

}  // namespace litevault
