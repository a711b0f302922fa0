// Following a WAL from a position: the restart proof, transactions as segment records, and the
// shipped TRUNCATE; see wal_follow.h.
#include "wal/wal_follow.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "format/byte_order.h"
#include "os/sync_point.h"

namespace litevault {
namespace {

constexpr uint64_t kLockByteOffset = 0x40000000;  // the pending byte; its page is never a frame's
constexpr size_t kChunkBytes = 1 << 20;           // frames per pread: about 1 MiB, at least one

void putLe32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void putLe64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Status walCorrupt(const File& wal, const std::string& what) {
  return Status::error(Code::kCorrupt, "'" + wal.path() + "' " + what);
}

// Frames first..last (which the file must hold), read in chunks; next() hands out one frame's
// bytes (header then page) at a time, null after `last`.
class FrameReader {
 public:
  FrameReader(const File& wal, uint32_t pageSize, uint32_t first, uint32_t last)
      : wal_(wal), pageSize_(pageSize), frameSize_(kWalFrameHeaderSize + pageSize), next_(first), last_(last),
        perRead_(static_cast<uint32_t>(std::max<size_t>(1, kChunkBytes / frameSize_))) {}

  Status next(uint32_t* number, const uint8_t** frame) {
    *frame = nullptr;
    if (next_ > last_) return Status::ok();
    if (next_ >= chunkFirst_ + chunkCount_) {
      chunkFirst_ = next_;
      chunkCount_ = std::min(perRead_, last_ - next_ + 1);
      buffer_.resize(size_t(chunkCount_) * frameSize_);
      LV_RETURN_IF_ERROR(wal_.readExactly(buffer_.data(), buffer_.size(), walFrameOffset(chunkFirst_, pageSize_)));
    }
    *number = next_;
    *frame = buffer_.data() + size_t(next_ - chunkFirst_) * frameSize_;
    next_++;
    return Status::ok();
  }

 private:
  const File& wal_;
  const uint32_t pageSize_;
  const size_t frameSize_;
  uint32_t next_;
  const uint32_t last_;
  const uint32_t perRead_;
  uint32_t chunkFirst_ = 0, chunkCount_ = 0;
  std::vector<uint8_t> buffer_;
};

// One transaction being collected: the newest image of each page, in page order.
class Transaction {
 public:
  explicit Transaction(uint32_t pageSize) : pageSize_(pageSize) {}

  // False when the transaction would hold more than maxPages distinct pages.
  bool add(uint32_t page, const uint8_t* image, uint64_t maxPages) {
    auto found = slots_.find(page);
    if (found == slots_.end()) {
      if (slots_.size() + 1 > maxPages) return false;
      found = slots_.emplace(page, slots_.size()).first;
      images_.resize(slots_.size() * size_t(pageSize_));
    }
    std::memcpy(images_.data() + found->second * pageSize_, image, pageSize_);
    return true;
  }

  // Appends the segment record (vault-format.md "Segment"): pages past the committed size are
  // not part of the state the transaction left, so they are left out.
  Status encode(uint64_t txid, int64_t recordedAt, uint32_t endFrame, uint32_t pageCount, std::vector<uint8_t>* out) const {
    uint32_t k = 0;
    for (const auto& slot : slots_) k += slot.first <= pageCount ? 1 : 0;
    if (k == 0) return Status::error(Code::kCorrupt, "WAL commit frame " + std::to_string(endFrame) + " commits no page within its size");
    putLe64(out, txid);
    putLe64(out, static_cast<uint64_t>(recordedAt));
    putLe32(out, endFrame);
    putLe32(out, pageCount);
    putLe32(out, k);
    for (const auto& slot : slots_) {
      if (slot.first > pageCount) continue;
      putLe32(out, slot.first);
      const uint8_t* image = images_.data() + slot.second * pageSize_;
      out->insert(out->end(), image, image + pageSize_);
    }
    return Status::ok();
  }

  void clear() {
    slots_.clear();
    images_.clear();
  }

 private:
  const uint32_t pageSize_;
  std::map<uint32_t, size_t> slots_;  // page -> slot in images_
  std::vector<uint8_t> images_;
};

// Frame F of `position` as the position left it: the WAL header (F = 0) or frame F's header
// with the old salts, a commit, and exactly the position's checksum.
Status frameIntact(const File& wal, const FollowPosition& position, uint32_t pageSize, bool* intact) {
  *intact = false;
  uint8_t bytes[kWalHeaderSize];
  size_t got = 0;
  if (position.frame == 0) {
    LV_RETURN_IF_ERROR(wal.readAt(bytes, kWalHeaderSize, 0, &got));
    WalHeader header;
    *intact = got == kWalHeaderSize && decodeWalHeader(bytes, &header) == WalHeaderCheck::kValid &&
              header.salt1 == position.salt1 && header.salt2 == position.salt2 && header.checksum == position.checksum;
    return Status::ok();
  }
  LV_RETURN_IF_ERROR(wal.readAt(bytes, kWalFrameHeaderSize, walFrameOffset(position.frame, pageSize), &got));
  WalChecksum stored{get4(bytes + 16), get4(bytes + 20)};
  *intact = got == kWalFrameHeaderSize && get4(bytes + 4) != 0 && get4(bytes + 8) == position.salt1 &&
            get4(bytes + 12) == position.salt2 && stored == position.checksum;
  return Status::ok();
}

// Whether `frame` (header + page) continues the position's chain, under either checksum byte
// order (the position does not record the old generation's).
bool continuesChain(const FollowPosition& position, const uint8_t* frame, uint32_t pageSize) {
  for (bool bigEndian : {false, true}) {
    WalHeader old;
    old.magic = kWalMagic | (bigEndian ? 1u : 0u);
    old.pageSize = pageSize;
    old.salt1 = position.salt1;
    old.salt2 = position.salt2;
    WalChecksum running = position.checksum;
    WalFrameHeader ignored;
    if (checkWalFrame(old, frame, frame + kWalFrameHeaderSize, &running, &ignored)) return true;
  }
  return false;
}

}  // namespace

Status WalFollower::poll(const FollowRequest& request, FollowResult* out) {
  *out = FollowResult();
  bool changed = false;
  LV_RETURN_IF_ERROR(wal_->beginReadThroughWal(&changed));
  Status status = follow(request, out);
  wal_->endRead();
  return status;
}

WalHeader WalFollower::chainHeader() const {
  const WalIndexHeader& h = wal_->indexHeader();
  WalHeader header;
  header.magic = kWalMagic | (h.bigEndianChecksum ? 1u : 0u);
  header.pageSize = h.pageSize;
  header.salt1 = get4(h.salt);
  header.salt2 = get4(h.salt + 4);
  return header;
}

Status WalFollower::follow(const FollowRequest& request, FollowResult* out) {
  const WalIndexHeader& h = wal_->indexHeader();
  const File& wal = wal_->walFile();
  out->pageSize = h.pageSize != 0 ? h.pageSize : dbPageSize_;
  out->salt1 = get4(h.salt);
  out->salt2 = get4(h.salt + 4);
  out->mxFrame = h.mxFrame;
  out->nBackfill = wal_->checkpointInfo().nBackfill;
  if (!request.hasPosition) return Status::ok();  // a gap: the replicator anchors with a backup
  if (h.mxFrame != 0) {
    if (h.pageSize != dbPageSize_) return walCorrupt(wal, "has pages of " + std::to_string(h.pageSize) + " bytes, the database " + std::to_string(dbPageSize_));
    uint64_t size = 0;
    LV_RETURN_IF_ERROR(wal.size(&size));
    if (walFrameOffset(h.mxFrame + 1, h.pageSize) > size) {
      return walCorrupt(wal, "holds fewer than the " + std::to_string(h.mxFrame) + " frames its wal-index commits");
    }
  }
  const FollowPosition& position = request.position;
  FollowPosition start;
  bool ok = false;
  if (position.salt1 == out->salt1 && position.salt2 == out->salt2) {
    LV_RETURN_IF_ERROR(resumeSame(position, &start, &ok));
    out->status = FollowStatus::kSame;
  } else {
    LV_RETURN_IF_ERROR(proveRestart(position, &ok));
    if (ok) LV_RETURN_IF_ERROR(generationStart(&start));
    out->status = FollowStatus::kRestarted;
  }
  if (!ok) {
    out->status = FollowStatus::kGap;
    return Status::ok();
  }
  return readTransactions(start, request, out);
}

// Frame 0 of the wal-index's generation: its WAL header's checksum, or unknown while the
// generation has no committed frame (its header may not be written yet).
Status WalFollower::generationStart(FollowPosition* start) {
  const WalIndexHeader& h = wal_->indexHeader();
  *start = FollowPosition();
  start->salt1 = get4(h.salt);
  start->salt2 = get4(h.salt + 4);
  if (h.mxFrame == 0) return Status::ok();
  uint8_t bytes[kWalHeaderSize];
  LV_RETURN_IF_ERROR(wal_->walFile().readExactly(bytes, kWalHeaderSize, 0));
  WalHeader header;
  if (decodeWalHeader(bytes, &header) != WalHeaderCheck::kValid || header.salt1 != start->salt1 || header.salt2 != start->salt2) {
    return walCorrupt(wal_->walFile(), "has a WAL header that is not its wal-index's generation");
  }
  start->checksumKnown = true;
  start->checksum = header.checksum;
  return Status::ok();
}

// The position in the wal-index's own generation: still there (frame F as the position left
// it; an unknown checksum recomputed over frames 1..F, F a commit frame), else *ok = false.
Status WalFollower::resumeSame(const FollowPosition& position, FollowPosition* start, bool* ok) {
  *ok = false;
  const WalIndexHeader& h = wal_->indexHeader();
  if (position.frame > h.mxFrame) return Status::ok();
  if (h.mxFrame == 0) {  // nothing of this generation committed yet: the position stays
    *start = position;
    *ok = true;
    return Status::ok();
  }
  if (position.checksumKnown) {
    LV_RETURN_IF_ERROR(frameIntact(wal_->walFile(), position, h.pageSize, ok));
    *start = position;
    return Status::ok();
  }
  LV_RETURN_IF_ERROR(generationStart(start));
  const WalHeader chain = chainHeader();
  FrameReader reader(wal_->walFile(), h.pageSize, 1, position.frame);
  WalFrameHeader fh;
  for (;;) {
    uint32_t n = 0;
    const uint8_t* frame = nullptr;
    LV_RETURN_IF_ERROR(reader.next(&n, &frame));
    if (frame == nullptr) break;
    if (!checkWalFrame(chain, frame, frame + kWalFrameHeaderSize, &start->checksum, &fh)) return Status::ok();
    start->frame = n;
  }
  *ok = position.frame == 0 || fh.commitPageCount != 0;
  return Status::ok();
}

// docs/replication.md "Restarts by others": *proved when the old generation ended at F.
Status WalFollower::proveRestart(const FollowPosition& position, bool* proved) {
  *proved = false;
  const WalIndexHeader& h = wal_->indexHeader();
  if (get4(h.salt) != position.salt1 + 1u || !position.checksumKnown) return Status::ok();
  const File& wal = wal_->walFile();
  std::vector<uint8_t> next(kWalFrameHeaderSize + dbPageSize_);
  size_t got = 0;
  LV_RETURN_IF_ERROR(wal.readAt(next.data(), next.size(), walFrameOffset(position.frame + 1, dbPageSize_), &got));
  LV_SYNC_POINT("wal-follow-between-frames");
  bool intact = false;
  LV_RETURN_IF_ERROR(frameIntact(wal, position, dbPageSize_, &intact));
  // F intact: no writer of the new generation had reached F, so none had written F+1 (frames
  // are written in order) when it was read: that read is the old generation's, untorn.
  if (!intact || got < next.size()) return Status::ok();
  *proved = !continuesChain(position, next.data(), dbPageSize_);
  return Status::ok();
}

Status WalFollower::readTransactions(const FollowPosition& start, const FollowRequest& request, FollowResult* out) {
  const WalIndexHeader& h = wal_->indexHeader();
  const File& wal = wal_->walFile();
  out->hasPosition = true;
  out->position = start;
  if (start.frame >= h.mxFrame) {
    if (h.mxFrame != 0 && start.checksumKnown && !(start.checksum == h.frameChecksum)) {
      return walCorrupt(wal, "frame " + std::to_string(h.mxFrame) + " does not end at its wal-index's checksum");
    }
    return Status::ok();
  }
  const WalHeader chain = chainHeader();
  const uint64_t maxPages = request.maxBytes / h.pageSize;
  const uint32_t lockBytePage = static_cast<uint32_t>(kLockByteOffset / h.pageSize) + 1;
  WalChecksum running = start.checksum;
  Transaction transaction(h.pageSize);
  FrameReader reader(wal, h.pageSize, start.frame + 1, h.mxFrame);
  for (;;) {
    uint32_t n = 0;
    const uint8_t* frame = nullptr;
    LV_RETURN_IF_ERROR(reader.next(&n, &frame));
    if (frame == nullptr) break;
    WalFrameHeader fh;
    if (!checkWalFrame(chain, frame, frame + kWalFrameHeaderSize, &running, &fh) || fh.pageNumber == lockBytePage) {
      return walCorrupt(wal, "frame " + std::to_string(n) + " is not a valid frame of the generation its wal-index commits");
    }
    if (!transaction.add(fh.pageNumber, frame + kWalFrameHeaderSize, maxPages)) {
      out->status = FollowStatus::kOversize;
      return Status::ok();
    }
    if (fh.commitPageCount == 0) continue;
    LV_RETURN_IF_ERROR(transaction.encode(request.firstTxid + out->transactions, request.recordedAt, n, fh.commitPageCount, &out->records)
                           .about(wal.path()));
    transaction.clear();
    if (out->transactions++ == 0) out->firstFrame = n;
    out->lastFrame = n;
    out->position.frame = n;
    out->position.checksumKnown = true;
    out->position.checksum = running;
  }
  if (out->position.frame != h.mxFrame || !(running == h.frameChecksum)) {
    return walCorrupt(wal, "frame " + std::to_string(h.mxFrame) + " does not end at its wal-index's checksum");
  }
  return Status::ok();
}

Status WalFollower::lockForTruncate(const FollowRequest& request, int busyTimeoutMs, FollowResult* out, bool* locked, bool* finished,
                                    TruncateResult* truncate) {
  *locked = *finished = false;
  *truncate = TruncateResult();
  if (locked_) return Status::error(Code::kMisuse, "lockForTruncate() while the truncate locks are held");
  LV_RETURN_IF_ERROR(wal_->lockCheckpointer());
  // No PASSIVE backfill first, though it would shorten the TRUNCATE under WRITE: a writer that
  // finds every frame backfilled restarts the WAL (walRestartLog), and the frames not shipped
  // yet would be a gap.
  Status status = wal_->lockWriter(busyTimeoutMs);
  if (status.isOk()) status = poll(request, out);
  if (status.isOk() && (out->status == FollowStatus::kSame || out->status == FollowStatus::kRestarted)) {
    // WRITE is held: nothing can follow mxFrame until finishTruncate().
    locked_ = true;
    lockedMxFrame_ = out->mxFrame;
    put4(lockedSalt_, out->salt1);
    put4(lockedSalt_ + 4, out->salt2);
    if (out->transactions > 0 && request.hold) {
      *locked = true;
      return Status::ok();
    }
    if (out->transactions > 0) {
      releaseTruncate();
      return Status::ok();
    }
    *finished = true;  // nothing to ship: no reason to keep writers waiting
    return finishTruncate(true, busyTimeoutMs, truncate);
  }
  wal_->unlockCheckpointer();
  return status;
}

Status WalFollower::finishTruncate(bool apply, int busyTimeoutMs, TruncateResult* out) {
  *out = TruncateResult();
  if (apply && !locked_) return Status::error(Code::kMisuse, "finishTruncate(true) without lockForTruncate()");
  Status status;
  if (apply) {
    // Only over what lockForTruncate returned: the wal-index must still end where it read.
    bool changed = false;
    status = wal_->beginReadThroughWal(&changed);
    if (status.isOk()) {
      const WalIndexHeader& h = wal_->indexHeader();
      if (h.mxFrame != lockedMxFrame_ || std::memcmp(h.salt, lockedSalt_, 8) != 0) {
        status = Status::error(Code::kInternal, "'" + wal_->walFile().path() + "' changed while its write lock was held");
      }
      wal_->endRead();
    }
    // The database's size at the last commit; a wal-index without one (no commit since it was
    // built, mxFrame 0): the file's, which a WAL database has in whole pages.
    uint32_t pageCount = wal_->indexHeader().nPage;
    uint64_t fileBytes = 0;
    if (pageCount == 0 && status.isOk() && db_->size(&fileBytes).isOk()) {
      pageCount = static_cast<uint32_t>((fileBytes + dbPageSize_ - 1) / dbPageSize_);  // as pagerPagecount rounds
    }
    Wal::CheckpointProgress progress;
    if (status.isOk()) status = wal_->checkpointStep(Wal::CheckpointMode::kTruncate, busyTimeoutMs, -1, *db_, dbPageSize_, &progress);
    out->truncated = status.isOk() && progress.done && !progress.busy;
    out->busy = progress.busy;
    // A seed that could not be written leaves a truncated WAL without one (frame 0): the
    // TRUNCATE stands, and the caller follows the new generation from its start.
    if (out->truncated && pageCount > 0 && !seed(pageCount, out).isOk()) out->frame = 0;
  }
  const WalIndexHeader& h = wal_->indexHeader();
  out->salt1 = get4(h.salt);
  out->salt2 = get4(h.salt + 4);
  releaseTruncate();
  return status;
}

// The seed frame (wal_follow.h), written as any SQLite writer writes a transaction: a read
// transaction on the empty generation, WAL header and frame, synced, then the wal-index header.
// The caller holds CKPT and WRITE; the TRUNCATE just waited for every WAL reader to leave. If it
// fails nothing was published (undo), and the WAL stays truncated without a seed; finishTruncate
// then reports frame 0 and no error.
Status WalFollower::seed(uint32_t pageCount, TruncateResult* out) {
  bool changed = false;
  LV_RETURN_IF_ERROR(wal_->beginReadThroughWal(&changed));
  Status status;
  if (wal_->indexHeader().mxFrame != 0) status = Status::error(Code::kInternal, "'" + wal_->walFile().path() + "' gained frames while its write lock was held");
  std::vector<uint8_t> page(dbPageSize_);
  if (status.isOk()) status = db_->readExactly(page.data(), page.size(), 0);
  if (status.isOk()) status = wal_->beginWrite();  // WRITE is ours already; sets the append point
  if (status.isOk()) {
    const Wal::FrameToWrite frame{1, page.data()};
    status = wal_->appendFrames(&frame, 1, pageCount, dbPageSize_);
  }
  if (status.isOk()) {
    out->frame = wal_->indexHeader().mxFrame;
    out->checksum = wal_->indexHeader().frameChecksum;
  } else {
    wal_->undo();
  }
  wal_->endRead();
  return status;
}

void WalFollower::releaseTruncate() {
  if (locked_) wal_->unlockCheckpointer();
  locked_ = false;
}

}  // namespace litevault
