// The scan of a vault backup; see vault_scan.h.
#include "vault/vault_scan.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "format/byte_order.h"
#include "format/db_header.h"
#include "os/sync_point.h"
#include "verify/cksumvfs.h"

namespace litevault {

namespace {

constexpr uint32_t kDefaultPageSize = 4096;  // SQLITE_DEFAULT_PAGE_SIZE: an empty source's page size
constexpr size_t kReadChunkBytes = size_t(1) << 20;  // one pread's worth of pages

int64_t wallClockMsRoundedUp() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return (us + 999) / 1000;
}

}  // namespace

Status VaultScan::create(std::shared_ptr<Connection> source, std::vector<BaseLink> base, const Options& options,
                         std::unique_ptr<VaultScan>* out) {
  out->reset();
  if (!source) return Status::error(Code::kMisuse, "a vault scan needs a source database");
  if (source->closed.load() || !source->pager) return Status::error(Code::kMisuse, "the database handle is closed");
  if (options.threads < 0 || options.maxRestarts < -1 || options.busyTimeoutMs < 0) {
    return Status::error(Code::kMisuse, "vault scan: threads must be >= 0, maxRestarts >= -1 and busyTimeoutMs >= 0");
  }
  source->backups++;
  out->reset(new VaultScan(std::move(source), std::move(base), options));
  return Status::ok();
}

VaultScan::VaultScan(std::shared_ptr<Connection> source, std::vector<BaseLink> base, const Options& options)
    : source_(std::move(source)), baseLinks_(std::move(base)), options_(options) {}

Status VaultScan::buildBase() {
  std::vector<DecodedManifest> chain(baseLinks_.size());
  std::vector<std::string> labels(baseLinks_.size());
  for (size_t i = 0; i < baseLinks_.size(); i++) {
    labels[i] = baseLinks_[i].label;
    LV_RETURN_IF_ERROR(decodeManifest(baseLinks_[i].manifest.data(), baseLinks_[i].manifest.size(), labels[i], &chain[i]));
  }
  LV_RETURN_IF_ERROR(PageState::build(chain, labels, &base_));
  std::vector<BaseLink>().swap(baseLinks_);  // the bytes are no longer needed
  baseBuilt_ = true;
  return Status::ok();
}

VaultScan::~VaultScan() { close(); }

VaultScan::Progress VaultScan::progressLocked() const {
  Progress p;
  p.done = done_;
  p.pageSize = pageSize_ != 0 ? pageSize_ : kDefaultPageSize;
  p.pageCount = pageCount_;
  p.pagesScanned = pagesScanned_;
  p.pagesStored = pagesStored_;
  p.bytesStored = bytesStored_;
  p.bytesRead = bytesRead_;
  p.restarts = restarts_;
  p.heldLock = held_;
  p.mode = mode_;
  return p;
}

Status VaultScan::step(StepResult* out) {
  std::lock_guard<std::mutex> guard(mutex_);
  out->packBytes = 0;
  out->packKey.clear();
  if (closed_.load()) return Status::error(Code::kMisuse, "vault scan step() after close() or finish()");
  if (out->out == nullptr || out->outCapacity < kMaxPackBytes) return Status::error(Code::kMisuse, "vault scan step(): the pack buffer is smaller than the biggest pack");
  Status status = sticky_;
  if (status.isOk() && !done_) {
    std::lock_guard<std::mutex> sourceGuard(source_->mutex);
    if (!source_->pager) {
      status = Status::error(Code::kMisuse, "the database handle is closed");
    } else {
      status = stepLocked(*source_->pager, out);
    }
    if (!status.isOk() && !isRetryable(status.code())) sticky_ = status;
  }
  out->progress = progressLocked();
  return status;
}

// Opens the source read transaction for this step (restart mode) or for the whole scan
// (snapshot mode, and restart mode once held). When the source changed since the pages of this
// pass were read, the pass starts over from page 1.
Status VaultScan::beginSource(Pager& src) {
  if (sourceOpen_) return Status::ok();  // the pinned snapshot, or the held lock
  if (src.state() != Pager::State::kNone) {
    return Status::error(Code::kLocked, "source database '" + src.path() +
                                            "' is in use by another operation of this process (a backup's destination or snapshot)");
  }
  const int timeout = src.busyTimeout();
  src.setBusyTimeout(options_.busyTimeoutMs);
  Status status = src.beginRead();
  src.setBusyTimeout(timeout);
  LV_RETURN_IF_ERROR(status);
  sourceOpen_ = true;
  if (mode_ == Mode::kUndecided) {
    wal_ = src.wal() != nullptr;
    mode_ = wal_ ? Mode::kSnapshot : Mode::kRestart;
    if (!wal_ && options_.maxRestarts == 0) held_ = true;
  }
  // Our own signature, not the pager's: another user of the same handle may have read the
  // source since, and must not hide the change from us.
  if (scanning_ && src.view() != view_) restart();
  if (!scanning_) snapshotAtMs_ = wallClockMsRoundedUp();  // a pass begins with this read transaction
  view_ = src.view();
  changeCounter_ = src.header().changeCounter;
  walFrame_ = src.wal() != nullptr ? src.wal()->mxFrame() : 0;
  walSalt1_ = src.wal() != nullptr ? get4(src.wal()->indexHeader().salt) : 0;
  walSalt2_ = src.wal() != nullptr ? get4(src.wal()->indexHeader().salt + 4) : 0;
  walChecksum_ = src.wal() != nullptr ? src.wal()->indexHeader().frameChecksum : WalChecksum();
  startPass(src.pageCount() != 0 ? src.pageSize() : kDefaultPageSize, src.pageCount());
  return Status::ok();
}

void VaultScan::endSource(Pager& src) {
  if (!sourceOpen_) return;
  src.endRead();
  sourceOpen_ = false;
  if (pinned_) source_->pinnedReads--;
  pinned_ = false;
}

// Another connection committed between steps: the table so far describes an older version.
void VaultScan::restart() {
  restarts_++;
  for (const auto& stored : storedThisPass_) emitted_.emplace(stored.first, stored.second);
  storedThisPass_.clear();
  runs_.clear();
  hashes_.clear();
  next_ = 1;
  pagesScanned_ = 0;
  scanning_ = false;
  if (options_.maxRestarts >= 0 && restarts_ >= static_cast<uint32_t>(options_.maxRestarts)) held_ = true;
}

// The snapshot of this step: its page size decides the pack layout. A new page size (a VACUUM
// that changed it, between passes) drops the open pack and every reference into stored pages.
void VaultScan::startPass(uint32_t pageSize, uint32_t pageCount) {
  pageCount_ = pageCount;
  if (pageSize == pageSize_) return;
  pagesStored_ -= openSlots_;
  openSlots_ = 0;
  emitted_.clear();
  storedThisPass_.clear();
  pageSize_ = pageSize;
  capacity_ = static_cast<uint32_t>(std::max<size_t>(1, kMaxPackPageBytes / pageSize));
  chunk_ = static_cast<uint32_t>(std::max<size_t>(1, kReadChunkBytes / pageSize));
  buffer_ = encoder_.takeBuffer(bufferBytes());
  baseUsable_ = base_.pageSize() == pageSize;
}

void VaultScan::addRun(uint32_t page, uint32_t pack, uint32_t slot, const Hash128& hash) {
  if (!runs_.empty()) {
    ManifestRun& last = runs_.back();
    if (last.firstPage + last.pages == page && last.pack == pack && last.firstSlot + last.pages == slot) {
      last.pages++;
      hashes_.push_back(hash);
      return;
    }
  }
  runs_.push_back(ManifestRun{page, 1, pack, slot});
  hashes_.push_back(hash);
}

Status VaultScan::stepLocked(Pager& src, StepResult* out) {
  LV_SYNC_POINT("vault-scan-step");
  if (!baseBuilt_) LV_RETURN_IF_ERROR(buildBase());
  if (!encoderReady_) {
    LV_RETURN_IF_ERROR(encoder_.init(options_.compress, options_.level, options_.threads));
    encoderReady_ = true;
  }
  if (openSlots_ >= capacity_ && capacity_ != 0) submitFullPack();  // left full by a failed step
  Status status;
  if (!scanned_) {
    status = beginSource(src);
    if (!status.isOk()) return status;
    status = readPages(src);
    if (status.isOk() && next_ > pageCount_ && options_.verify) {
      status = check_.finish(src, "vault scan");
      if (status.isOk()) check_.done();
    }
    // The open pack is full: to the compression threads (only after a successful read: a
    // failed step changes nothing the caller must see).
    if (status.isOk() && openSlots_ >= capacity_) submitFullPack();
    if (status.isOk() && next_ > pageCount_) {
      scanned_ = true;
      if (openSlots_ > 0) submitOpenPack(openSlots_);
    }
    // Restart mode reads the source only during a step (writers run in between) until the lock
    // is held; a snapshot is kept until every page is read, or until an error (the next step
    // then takes a new one, and restarts if the source changed meanwhile).
    if (scanned_ || !status.isOk() || (mode_ == Mode::kRestart && !held_)) endSource(src);
    if (sourceOpen_ && !pinned_) {  // kept past this step: the source connection is pinned
      pinned_ = true;
      source_->pinnedReads++;
    }
    LV_RETURN_IF_ERROR(status);
  }
  // Hand out the oldest pack if it is ready; wait for it when `threads` packs are submitted and
  // not handed out (memory stays bounded) or when nothing is left to read.
  const size_t inFlight = static_cast<size_t>(std::max(1, encoder_.threads()));
  PackEncoder::Encoded encoded;
  if (encoder_.takeOldest(scanned_ || encoder_.pending() >= inFlight, &encoded)) {
    LV_RETURN_IF_ERROR(encoded.status);
    deliver(&encoded, out);
  }
  if (scanned_ && encoder_.pending() == 0) done_ = true;
  return Status::ok();
}

// Reads up to one pack's worth of pages (fewer at the end, or when the open pack fills), a
// chunk at a time, hashing each and keeping the changed ones in the open pack.
Status VaultScan::readPages(Pager& src) {
  const uint32_t pageSize = pageSize_;
  const uint32_t lockPage = lockBytePage(pageSize);
  const bool mayRestart = mode_ == Mode::kRestart && !held_;
  uint32_t budget = capacity_;
  while (budget > 0 && next_ <= pageCount_ && openSlots_ < capacity_) {
    if (next_ == lockPage) {
      next_++;
      continue;
    }
    uint32_t count = std::min({budget, chunk_, pageCount_ - next_ + 1});
    if (next_ < lockPage && lockPage < next_ + count) count = lockPage - next_;
    // Read straight into the open pack's next free slots (the buffer has room for a chunk past
    // a nearly full pack).
    uint8_t* area = buffer_->data() + size_t(openSlots_) * pageSize;
    LV_RETURN_IF_ERROR(src.readPages(next_, count, area));
    bytesRead_ += uint64_t(count) * pageSize;
    scanning_ = true;
    uint32_t slot = openSlots_;  // where the next stored page goes
    for (uint32_t i = 0; i < count; i++) {
      const uint32_t page = next_ + i;
      uint8_t* image = area + size_t(i) * pageSize;
      if (options_.verify) {  // the page as the source has it (before byte 28 is set)
        check_.add(page, image, pageSize, pageCount_);
      }
      if (page == 1) setCopyPageCount(image, pageSize, pageCount_);
      const Hash128 hash = hash128(image, pageSize);
      const PageState::Entry* base = baseUsable_ ? base_.find(page) : nullptr;
      if (base != nullptr && base->link >= 0 && base->hash == hash) continue;  // unchanged
      if (!emitted_.empty()) {
        auto it = emitted_.find(hash);
        if (it != emitted_.end()) {  // stored by an earlier pass: referenced, not stored again
          addRun(page, it->second.pack, it->second.slot, hash);
          continue;
        }
      }
      uint8_t* dst = buffer_->data() + size_t(slot) * pageSize;
      if (dst != image) std::memcpy(dst, image, pageSize);  // dst < image: the ranges never overlap
      const Location at{packsSubmitted_ + slot / capacity_, slot % capacity_};
      addRun(page, at.pack, at.slot, hash);
      if (mayRestart) storedThisPass_.emplace_back(hash, at);
      slot++;
      pagesStored_++;
    }
    openSlots_ = slot;
    next_ += count;
    pagesScanned_ += count;
    budget -= count;
  }
  return Status::ok();
}

// The open pack's first capacity_ slots go to the encoder; the slots past them move to the
// front of a fresh buffer, which becomes the open pack.
void VaultScan::submitFullPack() {
  std::unique_ptr<ByteBuffer> next = encoder_.takeBuffer(bufferBytes());
  const uint32_t rest = openSlots_ - capacity_;
  if (rest > 0) std::memcpy(next->data(), buffer_->data() + size_t(capacity_) * pageSize_, size_t(rest) * pageSize_);
  std::swap(next, buffer_);
  encoder_.submit(std::move(next), capacity_, pageSize_);
  packsSubmitted_++;
  openSlots_ = rest;
}

// The last, partial pack.
void VaultScan::submitOpenPack(uint32_t slots) {
  std::unique_ptr<ByteBuffer> next = encoder_.takeBuffer(bufferBytes());
  std::swap(next, buffer_);
  encoder_.submit(std::move(next), slots, pageSize_);
  packsSubmitted_++;
  openSlots_ = 0;
}

void VaultScan::deliver(PackEncoder::Encoded* encoded, StepResult* out) {
  PackInfo info;
  info.key = hexOf(encoded->key);
  info.bytes = encoded->pack->size();
  info.slots = encoded->slots;
  bytesStored_ += info.bytes;
  std::memcpy(out->out, encoded->pack->data(), encoded->pack->size());  // <= kMaxPackBytes
  out->packBytes = encoded->pack->size();
  out->packKey = info.key;
  encoder_.recycle(std::move(encoded->pack));
  packs_.push_back(std::move(info));
}

void VaultScan::releaseLocked() {
  if (released_) return;
  released_ = true;
  source_->backups--;
}

Status VaultScan::finish(Result* out) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (closed_.load()) return Status::error(Code::kMisuse, "vault scan finish() after close() or finish()");
  if (!done_) return Status::error(Code::kMisuse, "vault scan finish() before a step reported done");
  {
    std::lock_guard<std::mutex> sourceGuard(source_->mutex);
    if (source_->pager) endSource(*source_->pager);
    releaseLocked();
    if (source_->pager) {
      const File& file = source_->pager->file();
      out->device = std::to_string(file.device());
      out->inode = std::to_string(file.inode());
      out->path = source_->pager->path();
    }
  }
  finished_ = true;
  closed_ = true;
  out->progress = progressLocked();
  out->table.clear();
  encodeTable(runs_, hashes_, &out->table);
  // Nothing more is read or packed: the buffers go now, not when the handle is collected.
  encoder_.shutdown();
  std::vector<ManifestRun>().swap(runs_);
  std::vector<Hash128>().swap(hashes_);
  buffer_.reset();
  base_ = PageState();
  out->packs = packs_;
  out->wal = wal_;
  out->changeCounter = changeCounter_;
  out->walFrame = walFrame_;
  out->walSalt1 = walSalt1_;
  out->walSalt2 = walSalt2_;
  out->walChecksumKnown = wal_ && walFrame_ > 0;  // for frame 0 the header's is a stale generation's
  out->walChecksum = walChecksum_;
  out->snapshotAtMs = snapshotAtMs_;
  return Status::ok();
}

void VaultScan::close() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (closed_.load() && released_) return;
  closed_ = true;
  std::lock_guard<std::mutex> sourceGuard(source_->mutex);
  if (source_->pager) endSource(*source_->pager);
  releaseLocked();
  encoder_.shutdown();
  buffer_.reset();
}

}  // namespace litevault
