// Restoring a backup's state into a private file; see vault_restore.h.
#include "vault/vault_restore.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "format/db_header.h"

namespace litevault {

Status VaultRestore::create(std::string tempPath, std::vector<DecodedManifest> chain, std::vector<std::string> labels,
                            std::vector<std::vector<std::string>> packKeys, std::unique_ptr<VaultRestore>* out) {
  out->reset();
  if (chain.empty()) return Status::error(Code::kMisuse, "vault restore: the chain is empty");
  if (packKeys.size() != chain.size() || labels.size() != chain.size()) {
    return Status::error(Code::kMisuse, "vault restore: packs and labels must have one entry per chain link");
  }
  std::unique_ptr<VaultRestore> r(new VaultRestore());
  r->tempPath_ = std::move(tempPath);
  r->labels_ = std::move(labels);
  r->planIndex_.resize(chain.size());
  r->slotCounts_.resize(chain.size());
  for (size_t l = 0; l < chain.size(); l++) {
    const std::vector<ManifestPack>& packs = chain[l].meta.packs;
    if (packKeys[l].size() != packs.size()) {
      return Status::error(Code::kMisuse, "vault restore: " + r->labels_[l] + " has " + std::to_string(packs.size()) +
                                              " packs, " + std::to_string(packKeys[l].size()) + " keys were given");
    }
    for (size_t p = 0; p < packs.size(); p++) {
      Hash128 key;
      if (!parseHash(packKeys[l][p], &key) || key != packs[p].key) {
        return Status::error(Code::kMisuse, "vault restore: key '" + packKeys[l][p] + "' is not pack " + std::to_string(p) + " of " +
                                                r->labels_[l] + " (" + hexOf(packs[p].key) + ")");
      }
      r->slotCounts_[l].push_back(packs[p].slots);
    }
    r->planIndex_[l].assign(packs.size(), -1);
  }
  LV_RETURN_IF_ERROR(PageState::build(chain, r->labels_, &r->state_));
  r->pageCount_ = r->state_.pageCount();
  r->extentPages_ = r->state_.pageCount();
  for (uint32_t page = 1; page <= r->state_.pageCount(); page++) {
    const PageState::Entry* e = r->state_.find(page);
    if (e->link < 0) continue;  // the lock-byte page
    int32_t& index = r->planIndex_[size_t(e->link)][e->pack];
    if (index < 0) {
      index = static_cast<int32_t>(r->plans_.size());
      auto plan = std::make_unique<PlannedPack>();
      plan->link = static_cast<uint32_t>(e->link);
      plan->pack = e->pack;
      plan->key = chain[size_t(e->link)].meta.packs[e->pack].key;
      r->plans_.push_back(std::move(plan));
      PackNeeded needed;
      needed.link = static_cast<uint32_t>(e->link);
      needed.pack = e->pack;
      needed.key = hexOf(r->plans_.back()->key);
      r->needed_.push_back(std::move(needed));
    }
    r->plans_[size_t(index)]->pages.push_back(Supply{page, e->slot});
  }
  *out = std::move(r);
  return Status::ok();
}

VaultRestore::~VaultRestore() {
  bool finished;
  {
    std::shared_lock<std::shared_mutex> guard(fileMutex_);
    finished = finished_;
  }
  if (!finished) abort();  // a handle dropped unfinished leaves no temporary behind
}

Status VaultRestore::open() {
  std::unique_lock<std::shared_mutex> guard(fileMutex_);
  if (file_ || created_ || finished_ || checking_) return Status::error(Code::kMisuse, "vault restore open() was already called");
  if (tempPath_.empty()) return Status::error(Code::kMisuse, "vault restore open(): no temporary path (a check-only restore)");
  LV_RETURN_IF_ERROR(createPrivateFile(tempPath_, &file_));
  created_ = true;
  return Status::ok();
}

Status VaultRestore::openCheck(const StructureCheck::Options& options) {
  std::unique_lock<std::shared_mutex> guard(fileMutex_);
  std::lock_guard<std::mutex> checkGuard(checkMutex_);
  if (file_ || created_ || finished_ || checking_) return Status::error(Code::kMisuse, "vault restore openCheck() after open() or openCheck()");
  checking_ = true;
  checkOptions_ = options;
  return Status::ok();
}

// Hands the pack's verified pages to the check (first pass), or keeps the wanted ones (second).
Status VaultRestore::checkVerified(const PlannedPack& plan, const uint8_t* images) {
  const uint32_t pageSize = state_.pageSize();
  std::lock_guard<std::mutex> guard(checkMutex_);
  for (const Supply& s : plan.pages) {
    const uint8_t* image = images + size_t(s.slot) * pageSize;
    if (rereading_) {
      auto it = kept_.find(s.page);
      if (it != kept_.end()) it->second.assign(image, image + pageSize);
      continue;
    }
    if (!check_) {
      if (s.page != 1) return Status::error(Code::kMisuse, "vault verify: the pack holding page 1 must be written first");
      DbHeader header;
      Status decoded = decodeDbHeader(image, pageSize, &header);
      if (decoded.isOk() && header.pageSize != pageSize) {
        decoded = Status::error(Code::kNotADb, "its header says " + std::to_string(header.pageSize) + "-byte pages");
      }
      if (!decoded.isOk()) {
        return Status::error(Code::kVaultCorrupt, "backup " + labels_[plan.link] + ": page 1 is no database header of " +
                                                      std::to_string(pageSize) + "-byte pages: " + decoded.message());
      }
      check_.reset(new StructureCheck(image, pageSize, state_.pageCount(), checkOptions_));
    }
    check_->addPage(s.page, image);
  }
  return Status::ok();
}

std::vector<VaultRestore::PackNeeded> VaultRestore::packsForCheck() {
  std::lock_guard<std::mutex> guard(checkMutex_);
  std::vector<PackNeeded> packs;
  if (!checking_ || !check_ || rereading_) return packs;
  rereading_ = true;
  std::vector<bool> listed(plans_.size(), false);
  for (const uint32_t page : check_->pagesToRead()) {
    const PageState::Entry* e = state_.find(page);
    if (e == nullptr || e->link < 0) continue;
    kept_.emplace(page, std::vector<uint8_t>());
    const int32_t index = planIndex_[size_t(e->link)][e->pack];
    if (index >= 0 && !listed[size_t(index)]) listed[size_t(index)] = true;
  }
  for (size_t i = 0; i < needed_.size(); i++) {
    if (listed[i]) packs.push_back(needed_[i]);
  }
  return packs;
}

Status VaultRestore::finishCheck(StructureCheck::Report* out) {
  std::lock_guard<std::mutex> guard(checkMutex_);
  if (!checking_) return Status::error(Code::kMisuse, "vault restore finishCheck() without openCheck()");
  for (const auto& plan : plans_) {
    if (!plan->written.load()) {
      return Status::error(Code::kMisuse, "vault verify: pack " + hexOf(plan->key) + " of " + labels_[plan->link] + " was not written");
    }
  }
  *out = StructureCheck::Report();
  if (!check_) {  // an empty database
    out->pageSize = state_.pageSize();
    return Status::ok();
  }
  const uint32_t pageSize = state_.pageSize();
  Status status = check_->finish(
      [this, pageSize](uint32_t page, uint8_t* image) {
        auto it = kept_.find(page);
        if (it == kept_.end() || it->second.size() != pageSize) {
          return Status::error(Code::kInternal, "vault verify: page " + std::to_string(page) + " was not kept for the check");
        }
        std::memcpy(image, it->second.data(), pageSize);
        return Status::ok();
      },
      out);
  check_.reset();
  kept_.clear();
  return status;
}

std::unique_ptr<VaultRestore::Workspace> VaultRestore::takeWorkspace() {
  std::lock_guard<std::mutex> guard(workspaceMutex_);
  if (workspaces_.empty()) return std::make_unique<Workspace>();
  std::unique_ptr<Workspace> w = std::move(workspaces_.back());
  workspaces_.pop_back();
  return w;
}

void VaultRestore::returnWorkspace(std::unique_ptr<Workspace> w) {
  std::lock_guard<std::mutex> guard(workspaceMutex_);
  workspaces_.push_back(std::move(w));
}

// Checks every page the plan takes from this pack, then writes them: one pwrite per run of
// consecutive pages in consecutive slots, each followed by a writeback start (os/file.h).
Status VaultRestore::writeVerified(const PlannedPack& plan, const uint8_t* images, const std::string& where) {
  const uint32_t pageSize = state_.pageSize();
  for (const Supply& s : plan.pages) {
    const Hash128 hash = hash128(images + size_t(s.slot) * pageSize, pageSize);
    if (hash != state_.find(s.page)->hash) {
      return Status::error(Code::kVaultCorrupt, where + ": page " + std::to_string(s.page) + ": its image (slot " + std::to_string(s.slot) +
                                                    ") does not match the hash in the manifest");
    }
  }
  if (checking_) return checkVerified(plan, images);
  size_t i = 0;
  while (i < plan.pages.size()) {
    size_t j = i + 1;
    while (j < plan.pages.size() && plan.pages[j].page == plan.pages[j - 1].page + 1 && plan.pages[j].slot == plan.pages[j - 1].slot + 1) j++;
    const Supply& first = plan.pages[i];
    const uint64_t offset = uint64_t(first.page - 1) * pageSize;
    LV_RETURN_IF_ERROR(file_->writeAt(images + size_t(first.slot) * pageSize, (j - i) * pageSize, offset));
    // The disk writes while the next packs are decompressed, so finish()'s fsync waits less.
    file_->startWriteback(offset, uint64_t(j - i) * pageSize);
    i = j;
  }
  return Status::ok();
}

Status VaultRestore::writePack(uint32_t link, uint32_t pack, const uint8_t* data, size_t n, uint32_t* pagesWritten) {
  *pagesWritten = 0;
  if (link >= planIndex_.size() || pack >= planIndex_[link].size()) {
    return Status::error(Code::kMisuse, "vault restore writePack(" + std::to_string(link) + ", " + std::to_string(pack) + "): no such pack");
  }
  const int32_t index = planIndex_[link][pack];
  if (index < 0) {
    return Status::error(Code::kMisuse, "vault restore writePack(" + std::to_string(link) + ", " + std::to_string(pack) +
                                            "): the restore needs no page of this pack (see packsNeeded)");
  }
  PlannedPack& plan = *plans_[size_t(index)];
  std::shared_lock<std::shared_mutex> guard(fileMutex_);
  if (!file_ && !checking_) {
    return Status::error(Code::kMisuse, finished_ || created_ ? "vault restore writePack() after finish() or abort()"
                                                              : "vault restore writePack() before open()");
  }
  const std::string where = "backup " + labels_[link] + ": pack " + hexOf(plan.key);
  PackHeader header;
  const uint8_t* payload = nullptr;
  Hash128 checksum;
  LV_RETURN_IF_ERROR(decodePack(data, n, where, &header, &payload, &checksum));
  if (checksum != plan.key) return Status::error(Code::kVaultCorrupt, where + ": the object's checksum " + hexOf(checksum) + " is not its key");
  if (header.pageSize != state_.pageSize()) {
    return Status::error(Code::kVaultCorrupt, where + ": page size " + std::to_string(header.pageSize) + ", the backup's is " +
                                                  std::to_string(state_.pageSize()));
  }
  if (header.slotCount != slotCounts_[link][pack]) {
    return Status::error(Code::kVaultCorrupt, where + ": " + std::to_string(header.slotCount) + " slots, the manifest says " +
                                                  std::to_string(slotCounts_[link][pack]));
  }
  const size_t imageBytes = size_t(header.slotCount) * header.pageSize;
  Status status;
  if (header.compression == PackCompression::kNone) {
    status = writeVerified(plan, payload, where);
  } else {
    std::unique_ptr<Workspace> w = takeWorkspace();
    if (w->buffer.size() < imageBytes) w->buffer.resize(imageBytes);
    status = w->decompressor.decompress(payload, size_t(header.payloadLength), w->buffer.data(), imageBytes);
    if (!status.isOk() && status.code() == Code::kVaultCorrupt) status = Status::error(Code::kVaultCorrupt, where + ": " + status.message());
    if (status.isOk()) status = writeVerified(plan, w->buffer.data(), where);
    returnWorkspace(std::move(w));
  }
  LV_RETURN_IF_ERROR(status);
  plan.written = true;
  *pagesWritten = static_cast<uint32_t>(plan.pages.size());
  return Status::ok();
}

Status VaultRestore::applySegment(const uint8_t* data, size_t n, const Hash128& key, uint64_t afterTxid, uint64_t uptoTxid, Applied* out) {
  *out = Applied();
  // Verified before anything is locked or written (CPU only: checksum, decompression, records).
  Decompressor decompressor;
  DecodedSegment segment;
  LV_RETURN_IF_ERROR(decodeSegment(data, n, key, &decompressor, &segment));
  const std::string label = "segment " + hexOf(key);
  const uint32_t pageSize = state_.pageSize();
  std::unique_lock<std::shared_mutex> guard(fileMutex_);
  if (!file_ || checking_) {
    return Status::error(Code::kMisuse, checking_ ? "vault restore applySegment() in check mode"
                                                  : finished_ || created_ ? "vault restore applySegment() after finish() or abort()"
                                                                          : "vault restore applySegment() before open()");
  }
  for (const auto& plan : plans_) {
    if (!plan->written.load()) {
      return Status::error(Code::kMisuse, "vault restore applySegment(): pack " + hexOf(plan->key) + " of " + labels_[plan->link] +
                                              " was not written yet (segments go after every pack)");
    }
  }
  if (segment.header.pageSize != pageSize) {
    return Status::error(Code::kVaultCorrupt, label + ": page size " + std::to_string(segment.header.pageSize) + ", the backup's is " +
                                                  std::to_string(pageSize));
  }
  size_t first = 0;
  while (first < segment.list.size() && segment.list[first].txid <= afterTxid) first++;
  size_t end = first;
  while (end < segment.list.size() && segment.list[end].txid <= uptoTxid) end++;
  if (first == end) {
    out->pageCount = pageCount_.load();
    return Status::ok();
  }
  const uint64_t expected = lastApplied_ != 0 ? lastApplied_ + 1 : afterTxid + 1;
  const uint64_t txid = segment.list[first].txid;
  if (txid > expected) return Status::error(Code::kVaultCorrupt, label + ": transaction " + std::to_string(expected) + " missing (the segment's first applied is " + std::to_string(txid) + ")");
  if (txid < expected) return Status::error(Code::kVaultCorrupt, label + ": transaction " + std::to_string(txid) + " was already applied");
  // The records first..end-1 applied in order write each page, then cut the file to the
  // record's page count. The same result with each page written once: the file cut first to the
  // smallest page count among them (every page past it that survives is written again after that
  // record), then, newest record first, each page's newest image, skipped when a later record's
  // smaller page count would have cut it. A busy segment rewrites a few pages thousands of times.
  uint32_t smallest = UINT32_MAX;
  for (size_t i = first; i < end; i++) smallest = std::min(smallest, segment.list[i].pageCount);
  if (smallest < extentPages_) {
    LV_RETURN_IF_ERROR(file_->truncate(uint64_t(smallest) * pageSize));
    extentPages_ = smallest;
  }
  std::unordered_set<uint32_t> written;
  uint32_t later = UINT32_MAX;  // the smallest page count of the records after the one at hand
  for (size_t i = end; i-- > first;) {
    const SegmentRecord& r = segment.list[i];
    const uint32_t limit = std::min(r.pageCount, later);
    for (uint32_t e = 0; e < r.pages; e++) {
      const uint32_t page = segmentPageNumber(segment.records, pageSize, r, e);
      if (page > limit) break;  // increasing: the rest is past the end as well
      if (!written.insert(page).second) continue;  // a newer record wrote it
      const uint64_t offset = uint64_t(page - 1) * pageSize;
      LV_RETURN_IF_ERROR(file_->writeAt(segmentPageImage(segment.records, pageSize, r, e), pageSize, offset));
      if (page > extentPages_) extentPages_ = page;
    }
    later = std::min(later, r.pageCount);
  }
  const SegmentRecord& last = segment.list[end - 1];
  if (last.pageCount < extentPages_) {
    LV_RETURN_IF_ERROR(file_->truncate(uint64_t(last.pageCount) * pageSize));
    extentPages_ = last.pageCount;
  }
  pageCount_ = last.pageCount;
  lastApplied_ = last.txid;
  file_->startWriteback(0, 0);
  out->transactions = static_cast<uint32_t>(end - first);
  out->firstTxid = segment.list[first].txid;
  out->lastTxid = segment.list[end - 1].txid;
  out->pageCount = pageCount_.load();
  return Status::ok();
}

Status VaultRestore::finish() {
  std::unique_lock<std::shared_mutex> guard(fileMutex_);
  if (!file_) return Status::error(Code::kMisuse, finished_ || created_ ? "vault restore finish() after finish() or abort()" : "vault restore finish() before open()");
  for (const auto& plan : plans_) {
    if (!plan->written.load()) {
      return Status::error(Code::kMisuse, "vault restore finish(): pack " + hexOf(plan->key) + " of " + labels_[plan->link] +
                                              " (" + std::to_string(plan->pages.size()) + " pages) was not written");
    }
  }
  const uint64_t bytes = uint64_t(pageCount_.load()) * state_.pageSize();
  LV_RETURN_IF_ERROR(file_->truncate(bytes));
  uint64_t size = 0;
  LV_RETURN_IF_ERROR(file_->size(&size));
  if (size != bytes) {
    return Status::error(Code::kIoErrTruncate, "vault restore: '" + tempPath_ + "' has " + std::to_string(size) + " bytes after truncating it to " +
                                                   std::to_string(bytes));
  }
  LV_RETURN_IF_ERROR(file_->sync());
  file_.reset();
  finished_ = true;
  return Status::ok();
}

Status VaultRestore::abort() {
  std::unique_lock<std::shared_mutex> guard(fileMutex_);
  file_.reset();
  if (!created_) return Status::ok();
  created_ = false;
  finished_ = true;  // nothing more to do, even for the destructor
  return removeFile(tempPath_);
}

}  // namespace litevault
