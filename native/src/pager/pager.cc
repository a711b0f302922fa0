// The rollback-journal pager; see pager.h for the protocol and its invariants.
#include "pager/pager.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "base/busy_wait.h"
#include "format/byte_order.h"
#include "os/out_fd.h"
#include "os/sync_point.h"
#include "pager/journal_playback.h"
#include "verify/cksumvfs.h"

namespace litevault {
namespace {

constexpr uint32_t kJournalBatchPages = 256;  // originals read and journaled per syscall

uint32_t randomNonce() {
  static thread_local std::mt19937 generator{std::random_device{}()};
  return static_cast<uint32_t>(generator());
}

Status misuse(const std::string& path, const char* what) {
  return Status::error(Code::kMisuse, std::string(what) + " ('" + path + "')");
}

}  // namespace

bool ViewSignature::operator==(const ViewSignature& o) const {
  return wal == o.wal && std::memcmp(bytes, o.bytes, sizeof(bytes)) == 0;
}

Status Pager::open(const std::string& path, const PagerOptions& options, std::unique_ptr<Pager>* out) {
  out->reset();
  std::string canonical;
  LV_RETURN_IF_ERROR(canonicalPath(path, &canonical));
  if (options.createPrivate) {
    std::unique_ptr<File> owned;
    LV_RETURN_IF_ERROR(createPrivateFile(canonical, &owned));
    File* db = owned.get();
    out->reset(new Pager(canonical, options, db, std::move(owned)));
    return Status::ok();
  }
  OpenIntent intent = options.readOnly ? OpenIntent::kRead : (options.create ? OpenIntent::kCreate : OpenIntent::kWrite);
  File* db = nullptr;
  LV_RETURN_IF_ERROR(openFile(canonical, intent, &db));
  out->reset(new Pager(canonical, options, db, nullptr));  // the Pager now owns the reference
  return Status::ok();
}

Pager::Pager(std::string path, const PagerOptions& options, File* db, std::unique_ptr<File> owned)
    : path_(std::move(path)),
      journalPath_(path_ + "-journal"),
      options_(options),
      owned_(std::move(owned)),
      db_(db),
      dbRef_(owned_ ? nullptr : db),
      lock_(*db) {}

Pager::~Pager() {
  if (state_ == State::kWriting) rollback();
  if (state_ == State::kReading) endRead();
  closeWal();
  lock_.unlock(DbLockLevel::kNone);  // the SHARED lock a WAL pager kept
}

// sqlite3WalClose, for a pager that committed into the WAL: with EXCLUSIVE on the database file
// (one attempt, from the SHARED every WAL pager holds; it fails while any other connection has
// the database open), checkpoint every frame and delete the -shm and then the -wal. Errors only
// mean the WAL stays, as after SQLite's own failed last-close checkpoint.
void Pager::closeWal() {
  if (!wal_) return;
  bool remove = false;
  if (committedWal_ && !options_.readOnly && db_->writable() && lock_.lock(DbLockLevel::kExclusive).isOk()) {
    if (wal_->lockCheckpointer().isOk()) {
      Wal::CheckpointProgress progress;
      Status status = wal_->checkpointStep(Wal::CheckpointMode::kPassive, 0, -1, *db_, pageSize_, &progress);
      remove = status.isOk() && progress.done && progress.checkpointed == progress.log;
      wal_->unlockCheckpointer();
    }
  }
  if (remove) wal_->deleteShmOnDetach();
  wal_.reset();  // ends the WAL read transaction, detaches (and maybe deletes) the -shm
  if (remove) removeFile(path_ + "-wal");
}

Status Pager::lockWaiting(DbLockLevel level) {
  return retryWhileBusy(options_.busyTimeoutMs, [&] { return lock_.lock(level); }).about(path_);
}

Status Pager::beginRead() {
  if (state_ != State::kNone) return misuse(path_, "a transaction is already open");
  return retryWhileBusy(options_.busyTimeoutMs, [&] { return tryBeginRead(); }).about(path_);
}

// One attempt at a read transaction. On any failure every lock it took is released again (a WAL
// pager keeps only the SHARED it holds for life), so the busy handler retries from NONE.
Status Pager::tryBeginRead() {
  LV_RETURN_IF_ERROR(lock_.lock(DbLockLevel::kShared));
  LV_SYNC_POINT("after-shared-lock");
  // sqlite3PagerSharedLock looks for a hot journal only while the pager is not in WAL mode.
  bool hot = false;
  Status status = wal_ ? Status::ok() : hasHotJournal(&hot);
  if (status.isOk() && hot) {
    status = options_.readOnly
                 ? Status::error(Code::kReadOnlyRollback, "'" + path_ + "' has a hot journal that a read-only handle cannot roll back")
                 : rollBackHotJournal();
  }
  if (status.isOk()) status = readHeader();
  if (status.isOk()) LV_SYNC_POINT("after-header-read");
  if (status.isOk() && isWal_) status = beginWalRead();
  if (status.isOk() && !isWal_) {
    view_ = ViewSignature();
    if (fileSize_ >= 40) {
      size_t got = 0;
      status = db_->readAt(view_.bytes, 16, 24, &got);
    }
  }
  if (!status.isOk()) {
    if (!wal_) lock_.unlock(DbLockLevel::kNone);  // a WAL pager keeps SHARED for life
    return status;
  }
  state_ = State::kReading;
  return Status::ok();
}

Status Pager::readHeader() {
  header_ = DbHeader();
  pageSize_ = 0;
  pageCount_ = 0;
  isWal_ = false;
  LV_RETURN_IF_ERROR(db_->size(&fileSize_));
  if (fileSize_ == 0) return removeStaleCompanions();
  uint8_t bytes[kDbHeaderSize];
  size_t got = 0;
  LV_RETURN_IF_ERROR(db_->readAt(bytes, sizeof(bytes), 0, &got));
  LV_RETURN_IF_ERROR(decodeDbHeader(bytes, got, &header_));
  pageSize_ = header_.pageSize;
  PathInfo wal;
  LV_RETURN_IF_ERROR(statPath(path_ + "-wal", &wal));
  // pagerOpenWalIfPresent: a -wal beside a non-empty database makes SQLite read through it; a
  // 0-byte one counts as absent (unixAccess).
  isWal_ = header_.readVersion == 2 || header_.writeVersion == 2 || wal.present();
  // In WAL mode the WAL's last commit decides the page count (beginWalRead checks it there): a
  // checkpoint may have copied page 1 of a grown database before the pages that extend the file.
  if (isWal_) return Status::ok();
  return countPages(header_, (fileSize_ + pageSize_ - 1) / pageSize_, &pageCount_);
}

// hasHotJournal and pagerOpenWalIfPresent for a 0-page database: a journal or -wal beside it is
// left from a database that no longer exists. A writable pager deletes them under RESERVED (one
// attempt, from SHARED); when RESERVED is held by someone else, or the pager may not write,
// they stay (and are ignored: a 0-page database reads as empty).
Status Pager::removeStaleCompanions() {
  if (options_.readOnly || !db_->writable() || wal_) return Status::ok();
  PathInfo journal, wal;
  LV_RETURN_IF_ERROR(statPath(journalPath_, &journal));
  LV_RETURN_IF_ERROR(statPath(path_ + "-wal", &wal));
  if (!journal.present() && !wal.present()) return Status::ok();
  if (!lock_.lock(DbLockLevel::kReserved).isOk()) return Status::ok();
  Status status;
  if (journal.present()) status = removeFile(journalPath_);
  if (status.isOk() && wal.present()) status = removeFile(path_ + "-wal");
  Status unlocked = lock_.unlock(DbLockLevel::kShared);
  return status.isOk() ? unlocked : status;
}

// Joins the WAL on first use and starts a WAL read transaction (one attempt); only then are the
// page count and page 1 (the header) read, from the snapshot or the file, as lockBtree reads
// them through sqlite3WalDbsize: a checkpoint between an earlier header read and the read lock
// could otherwise pair an old file size with a newer page 1.
Status Pager::beginWalRead() {
  if (!wal_) LV_RETURN_IF_ERROR(Wal::open(path_, pageSize_, &wal_));
  bool changed = false;
  LV_SYNC_POINT("before-wal-read-lock");
  LV_RETURN_IF_ERROR(wal_->beginRead(&changed));
  Status status;
  if (wal_->mxFrame() != 0 && wal_->pageSize() != pageSize_) {
    status = Status::error(Code::kCorrupt, "'" + path_ + "-wal' has page size " + std::to_string(wal_->pageSize()) +
                                               " but the database has " + std::to_string(pageSize_));
  }
  uint32_t headerFrame = 0;
  if (status.isOk()) status = wal_->findFrame(1, &headerFrame);
  if (status.isOk()) status = db_->size(&fileSize_);
  if (status.isOk()) {
    std::vector<uint8_t> page(headerFrame != 0 ? pageSize_ : kDbHeaderSize);
    if (headerFrame != 0) {
      status = wal_->readFrame(headerFrame, page.data());
    } else {
      size_t got = 0;
      status = db_->readAt(page.data(), kDbHeaderSize, 0, &got);
      if (status.isOk() && got < kDbHeaderSize) std::memset(page.data() + got, 0, kDbHeaderSize - got);
    }
    if (status.isOk()) status = decodeDbHeader(page.data(), kDbHeaderSize, &header_);
  }
  if (status.isOk()) {
    const uint64_t available = wal_->nPage() != 0 ? wal_->nPage() : (fileSize_ + pageSize_ - 1) / pageSize_;
    status = countPages(header_, available, &pageCount_);
  }
  if (status.isOk()) {
    view_.wal = true;
    std::memcpy(view_.bytes, wal_->headerBytes(), sizeof(view_.bytes));
  }
  if (!status.isOk()) wal_->endRead();
  return status;
}

Status Pager::joinWal(bool* isWal) {
  *isWal = false;
  if (state_ != State::kNone) return misuse(path_, "joinWal() inside a transaction");
  LV_RETURN_IF_ERROR(lockWaiting(DbLockLevel::kShared));
  Status status = readHeader();
  if (status.isOk() && isWal_ && !wal_) {
    status = retryWhileBusy(options_.busyTimeoutMs, [&] { return Wal::open(path_, pageSize_, &wal_); });
  }
  if (!status.isOk() || !isWal_) {
    if (!wal_) lock_.unlock(DbLockLevel::kNone);
    return status.about(path_);
  }
  *isWal = true;
  return Status::ok();
}

Status Pager::hasHotJournal(bool* hot) {
  *hot = false;
  PathInfo journal;
  LV_RETURN_IF_ERROR(statPath(journalPath_, &journal));
  if (!journal.exists || !journal.regular || journal.size == 0) return Status::ok();
  bool reserved = false;
  LV_RETURN_IF_ERROR(lock_.checkReserved(&reserved));
  if (reserved) return Status::ok();  // a live writer owns that journal
  uint64_t dbSize = 0;
  LV_RETURN_IF_ERROR(db_->size(&dbSize));
  if (dbSize == 0) return Status::ok();  // a stale journal beside an empty database
  std::unique_ptr<File> file;
  Status opened = openUnlockedFile(journalPath_, OpenIntent::kRead, &file);
  if (!opened.isOk()) {
    // SQLite assumes a journal it cannot open is hot; so do we, except when it just vanished.
    PathInfo again;
    LV_RETURN_IF_ERROR(statPath(journalPath_, &again));
    *hot = again.exists;
    return Status::ok();
  }
  uint8_t first = 0;
  size_t got = 0;
  LV_RETURN_IF_ERROR(file->readAt(&first, 1, 0, &got));
  *hot = got == 1 && first != 0;
  return Status::ok();
}

// One attempt at EXCLUSIVE, straight from SHARED (no RESERVED, no PENDING), as
// sqlite3PagerSharedLock does; BUSY goes back to the caller, which drops SHARED and retries.
Status Pager::rollBackHotJournal() {
  LV_RETURN_IF_ERROR(lock_.lock(DbLockLevel::kExclusive));
  PathInfo journal;
  Status status = statPath(journalPath_, &journal);
  if (status.isOk() && journal.exists) {
    std::unique_ptr<File> file;
    status = openUnlockedFile(journalPath_, OpenIntent::kWrite, &file);
    if (status.isOk()) status = file->sync();  // pagerSyncHotJournal
    PlaybackResult result;
    if (status.isOk()) status = playBackJournal(*db_, *file, 0, &result);
    file.reset();
    if (status.isOk()) status = removeFile(journalPath_);
    // pager_delsuper: once no journal names it any more, the super-journal goes too.
    if (status.isOk() && !result.superJournal.empty()) status = deleteSuperJournalIfUnused(result.superJournal);
  }
  Status unlocked = lock_.unlock(DbLockLevel::kShared);
  return status.isOk() ? unlocked : status;
}

Status Pager::endRead() {
  if (state_ == State::kWriting) return misuse(path_, "endRead() inside a write transaction");
  if (state_ == State::kNone) return Status::ok();
  state_ = State::kNone;
  if (wal_) {
    wal_->endRead();
    return Status::ok();  // SHARED stays held while the pager lives
  }
  return lock_.unlock(DbLockLevel::kNone).about(path_);
}

Status Pager::readFilePages(uint32_t first, uint32_t count, uint8_t* out) const {
  const size_t n = size_t(count) * pageSize_;
  size_t got = 0;
  LV_RETURN_IF_ERROR(db_->readAt(out, n, uint64_t(first - 1) * pageSize_, &got));
  if (got < n) std::memset(out + got, 0, n - got);
  return Status::ok();
}

Status Pager::readPages(uint32_t first, uint32_t count, uint8_t* out) {
  if (!wal_ || !wal_->reading() || wal_->readLockIndex() == 0) return readFilePages(first, count, out);
  LV_RETURN_IF_ERROR(planRead(first, count, &plan_));
  return readPlanned(plan_, first, out);
}

// Runs of pages the WAL does not hold are read from the file with one pread each.
Status Pager::planRead(uint32_t first, uint32_t count, std::vector<ReadPiece>* plan) {
  plan->clear();
  if (!wal_ || !wal_->reading() || wal_->readLockIndex() == 0) {
    plan->push_back(ReadPiece{first, count, 0});
    return Status::ok();
  }
  uint32_t runStart = first;
  for (uint32_t p = first; p < first + count; p++) {
    uint32_t frame = 0;
    LV_RETURN_IF_ERROR(wal_->findFrame(p, &frame));
    if (frame == 0) continue;
    if (runStart < p) plan->push_back(ReadPiece{runStart, p - runStart, 0});
    plan->push_back(ReadPiece{p, 1, frame});
    runStart = p + 1;
  }
  if (runStart < first + count) plan->push_back(ReadPiece{runStart, first + count - runStart, 0});
  return Status::ok();
}

Status Pager::readPlanned(const std::vector<ReadPiece>& plan, uint32_t first, uint8_t* out) const {
  for (const ReadPiece& piece : plan) {
    uint8_t* at = out + size_t(piece.page - first) * pageSize_;
    if (piece.frame == 0) {
      LV_RETURN_IF_ERROR(readFilePages(piece.page, piece.count, at));
    } else {
      LV_RETURN_IF_ERROR(wal_->readFrame(piece.frame, at));
    }
  }
  return Status::ok();
}

Status Pager::sendPlanned(const std::vector<ReadPiece>& plan, int fd, uint8_t* scratch, const std::string& what) const {
  for (const ReadPiece& piece : plan) {
    if (piece.frame == 0) {
      LV_RETURN_IF_ERROR(sendFileTo(fd, *db_, uint64_t(piece.page - 1) * pageSize_, size_t(piece.count) * pageSize_, what));
    } else {
      LV_RETURN_IF_ERROR(wal_->readFrame(piece.frame, scratch));
      LV_RETURN_IF_ERROR(writeAllTo(fd, scratch, pageSize_, what));
    }
  }
  return Status::ok();
}

Status Pager::beginWrite() {
  if (state_ != State::kReading) return misuse(path_, "beginWrite() needs a read transaction");
  if (options_.readOnly || !db_->writable()) {
    return Status::error(Code::kReadOnly, "attempt to write a readonly database: '" + path_ + "'");
  }
  originalPageCount_ = pageCount_;
  originalChangeCounter_ = header_.changeCounter;
  if (wal_) {
    // WAL mode: no database lock beyond SHARED, no journal; the WAL write lock instead.
    LV_RETURN_IF_ERROR(wal_->beginWrite().about(path_));  // one attempt, as walBeginWriteTransaction
    walPage1_.clear();
    databaseWritten_ = false;
    stampCksumvfsPageSize_ = 0;
    state_ = State::kWriting;
    return Status::ok();
  }
  // Inside a read transaction RESERVED is tried once (waiting here while holding SHARED could
  // deadlock with another waiter); EXCLUSIVE is waited for while RESERVED/PENDING keeps new
  // readers out (pager_wait_on_lock), as SQLite does.
  Status status = lock_.lock(DbLockLevel::kReserved);
  if (status.isOk()) status = lockWaiting(DbLockLevel::kExclusive);
  if (status.isOk()) status = openUnlockedFile(journalPath_, OpenIntent::kCreate, &journal_, path_);
  if (status.isOk()) status = journal_->truncate(0);  // a cold journal left behind is reused
  if (!status.isOk()) {
    journal_.reset();
    lock_.unlock(DbLockLevel::kShared);
    return status.about(path_);
  }
  journalPageSize_ = pageSize_ != 0 ? pageSize_ : 4096;
  journaled_.assign(size_t(originalPageCount_) + 1, false);
  journalEnd_ = 0;
  segmentStart_ = 0;
  segmentOpen_ = false;
  segmentRecords_ = 0;
  anySealed_ = false;
  databaseWritten_ = false;
  stampCksumvfsPageSize_ = 0;
  state_ = State::kWriting;
  return Status::ok();
}

Status Pager::beginWriteTransaction() {
  if (state_ != State::kNone) return misuse(path_, "beginWriteTransaction() inside a transaction");
  return retryWhileBusy(options_.busyTimeoutMs, [&] {
           Status status = tryBeginRead();
           if (!status.isOk()) return status;
           status = beginWrite();
           if (status.isOk()) return status;
           endRead();
           // A newer snapshot is exactly what the next attempt gets: retry it like BUSY.
           if (status.code() == Code::kBusySnapshot) return Status::error(Code::kBusy, status.message());
           return status;
         })
      .about(path_);
}

// Appends the original content of every not-yet-journaled original page that overlaps
// [offset, offset + n) to the open segment (opening one if needed).
Status Pager::journalOriginals(uint64_t offset, size_t n) {
  if (originalPageCount_ == 0 || n == 0) return Status::ok();
  const uint32_t ps = journalPageSize_;
  const uint32_t lockPage = lockBytePage(ps);
  const uint64_t firstPage = offset / ps + 1;
  const uint64_t lastPage = std::min<uint64_t>((offset + n - 1) / ps + 1, originalPageCount_);
  std::vector<uint8_t> records;
  std::vector<uint8_t> page(ps);
  for (uint64_t p = firstPage; p <= lastPage;) {
    if (journaled_[p] || p == lockPage) {
      p++;
      continue;
    }
    if (!segmentOpen_) {
      segmentStart_ = journalSegmentStart(journalEnd_, kJournalSectorSize);
      segmentChecksumInit_ = randomNonce();
      JournalHeader header;
      header.checksumInit = segmentChecksumInit_;
      header.originalPageCount = originalPageCount_;
      header.sectorSize = kJournalSectorSize;
      header.pageSize = ps;
      std::vector<uint8_t> bytes(kJournalSectorSize);
      encodeJournalHeader(header, bytes.data(), kJournalSectorSize);
      LV_RETURN_IF_ERROR(journal_->writeAt(bytes.data(), bytes.size(), segmentStart_));
      journalEnd_ = segmentStart_ + kJournalSectorSize;
      segmentOpen_ = true;
      segmentRecords_ = 0;
    }
    // A run of pages to journal, read with one pread.
    uint64_t end = p;
    while (end <= lastPage && !journaled_[end] && end != lockPage && end - p < kJournalBatchPages) end++;
    const uint32_t count = static_cast<uint32_t>(end - p);
    std::vector<uint8_t> originals(size_t(count) * ps);
    size_t got = 0;
    LV_RETURN_IF_ERROR(db_->readAt(originals.data(), originals.size(), (p - 1) * ps, &got));
    if (got < originals.size()) std::memset(originals.data() + got, 0, originals.size() - got);
    records.resize(size_t(count) * (ps + 8));
    for (uint32_t i = 0; i < count; i++) {
      uint8_t* record = records.data() + size_t(i) * (ps + 8);
      const uint8_t* original = originals.data() + size_t(i) * ps;
      put4(record, static_cast<uint32_t>(p + i));
      std::memcpy(record + 4, original, ps);
      put4(record + 4 + ps, journalRecordChecksum(segmentChecksumInit_, original, ps));
      journaled_[p + i] = true;
    }
    LV_RETURN_IF_ERROR(journal_->writeAt(records.data(), records.size(), journalEnd_));
    journalEnd_ += records.size();
    segmentRecords_ += count;
    p = end;
  }
  return Status::ok();
}

// Makes the open segment durable and valid: sync its records, write magic + nRec, sync again.
// Before the first database write an (empty) first segment is sealed too, so that a crash
// leaves a hot journal that truncates the database back to its original size.
Status Pager::sealSegment() {
  if (!segmentOpen_) {
    if (anySealed_) return Status::ok();
    JournalHeader header;
    header.checksumInit = segmentChecksumInit_ = randomNonce();
    header.originalPageCount = originalPageCount_;
    header.sectorSize = kJournalSectorSize;
    header.pageSize = journalPageSize_;
    std::vector<uint8_t> bytes(kJournalSectorSize);
    encodeJournalHeader(header, bytes.data(), kJournalSectorSize);
    segmentStart_ = journalSegmentStart(journalEnd_, kJournalSectorSize);
    LV_RETURN_IF_ERROR(journal_->writeAt(bytes.data(), bytes.size(), segmentStart_));
    journalEnd_ = segmentStart_ + kJournalSectorSize;
    segmentRecords_ = 0;
  }
  LV_RETURN_IF_ERROR(journal_->sync());
  if (!anySealed_) LV_RETURN_IF_ERROR(syncDirectoryOf(journalPath_));  // the new journal's name
  uint8_t seal[12];
  encodeJournalSeal(segmentRecords_, seal);
  LV_RETURN_IF_ERROR(journal_->writeAt(seal, sizeof(seal), segmentStart_));
  LV_RETURN_IF_ERROR(journal_->sync());
  anySealed_ = true;
  segmentOpen_ = false;
  return Status::ok();
}

// WAL mode: whole pages become frames at once (uncommitted until commit()); a write inside page
// 1 that is not a whole page patches the copy of page 1 that commit() appends last.
Status Pager::writeWalBytes(uint64_t offset, const uint8_t* data, size_t n) {
  const uint32_t ps = pageSize_;
  if (offset % ps == 0 && n % ps == 0) {
    std::vector<Wal::FrameToWrite> frames;
    for (size_t i = 0; i < n / ps; i++) {
      const uint32_t page = static_cast<uint32_t>(offset / ps + i + 1);
      frames.push_back({page, data + i * ps});
      if (page == 1) walPage1_.assign(data + i * ps, data + (i + 1) * ps);
    }
    LV_RETURN_IF_ERROR(wal_->appendFrames(frames.data(), frames.size(), 0, ps));
    databaseWritten_ = true;
    return Status::ok();
  }
  if (offset + n > ps) {
    return Status::error(Code::kInternal, "a partial-page write outside page 1 of WAL database '" + path_ + "'");
  }
  if (walPage1_.empty()) {
    walPage1_.resize(ps);
    LV_RETURN_IF_ERROR(readPages(1, 1, walPage1_.data()));
  }
  std::memcpy(walPage1_.data() + offset, data, n);
  return Status::ok();
}

// Before database bytes [offset, offset + n) change in rollback mode: never the lock-byte page,
// and every original page they touch journaled in a sealed segment.
Status Pager::beforeFileWrite(uint64_t offset, size_t n) {
  if (offset < kPendingByte + 512 && offset + n > kPendingByte) {
    return Status::error(Code::kInternal, "refusing to write the lock-byte page of '" + path_ + "'");
  }
  LV_RETURN_IF_ERROR(journalOriginals(offset, n).about(journalPath_));
  if (segmentOpen_ || !anySealed_) LV_RETURN_IF_ERROR(sealSegment().about(journalPath_));
  return Status::ok();
}

Status Pager::prepareWrite(uint64_t offset, size_t n) {
  if (state_ != State::kWriting) return misuse(path_, "prepareWrite() needs a write transaction");
  if (n == 0 || wal_) return Status::ok();
  return beforeFileWrite(offset, n);
}

Status Pager::writeBytes(uint64_t offset, const uint8_t* data, size_t n) {
  if (state_ != State::kWriting) return misuse(path_, "writeBytes() needs a write transaction");
  if (n == 0) return Status::ok();
  if (wal_) return writeWalBytes(offset, data, n).about(path_);
  LV_RETURN_IF_ERROR(beforeFileWrite(offset, n));
  databaseWritten_ = true;  // before the write: a write that fails part-way must be rolled back too
  LV_RETURN_IF_ERROR(db_->writeAt(data, n, offset));
  db_->startWriteback(offset, n);  // overlap the disk with the rest of the copy; commit syncs
  return Status::ok();
}

Status Pager::copyBytesFrom(uint64_t offset, const File& from, uint64_t fromOffset, size_t n, size_t* copied, bool* refused) {
  *copied = 0;
  *refused = false;
  if (state_ != State::kWriting) return misuse(path_, "copyBytesFrom() needs a write transaction");
  if (n == 0) return Status::ok();
  if (wal_) {
    *refused = true;
    return Status::ok();
  }
  LV_RETURN_IF_ERROR(beforeFileWrite(offset, n));
  databaseWritten_ = true;  // as in writeBytes(): a copy that fails part-way has changed the file
  LV_RETURN_IF_ERROR(db_->copyFrom(from, fromOffset, n, offset, copied, refused));
  if (*copied > 0) db_->startWriteback(offset, *copied);
  return Status::ok();
}

// Deletes the journal: the commit point of a rollback-mode transaction. If the delete fails the
// journal stays open and on disk, so the transaction can still be rolled back with it.
Status Pager::finishJournal() {
  LV_RETURN_IF_ERROR(removeFile(journalPath_));
  journal_.reset();
  return Status::ok();
}

Status Pager::commit(uint64_t newSize) {
  if (state_ != State::kWriting) return misuse(path_, "commit() needs a write transaction");
  if (wal_) {
    // pagerWalFrames: page 1 always goes last, in the commit frame, with the change counter.
    uint8_t counter[4];
    put4(counter, originalChangeCounter_ + 1);
    Status status = writeWalBytes(24, counter, 4);
    if (status.isOk()) status = writeWalBytes(92, counter, 4);
    if (status.isOk() && stampCksumvfsPageSize_ == pageSize_) {
      cksumvfsCompute(walPage1_.data(), pageSize_, walPage1_.data() + pageSize_ - kCksumvfsReserve);
    }
    if (status.isOk()) {
      const Wal::FrameToWrite page1{1, walPage1_.data()};
      status = wal_->appendFrames(&page1, 1, static_cast<uint32_t>(newSize / pageSize_), pageSize_);
    }
    if (!status.isOk()) return status.about(path_);  // still writing: the caller rolls back
    wal_->endWrite();
    committedWal_ = true;
    state_ = State::kReading;
    return Status::ok();
  }
  // pager_incr_changecounter: the counter as it was when the transaction began, plus one, at 24
  // and in the version-valid-for copy at 92.
  uint8_t counter[4];
  put4(counter, originalChangeCounter_ + 1);
  Status status = writeBytes(24, counter, 4);
  if (status.isOk()) status = writeBytes(92, counter, 4);
  if (status.isOk() && stampCksumvfsPageSize_ != 0) {
    std::vector<uint8_t> page1(stampCksumvfsPageSize_);
    size_t got = 0;
    status = db_->readAt(page1.data(), page1.size(), 0, &got);
    if (status.isOk() && got == page1.size()) {
      uint8_t sum[kCksumvfsReserve];
      cksumvfsCompute(page1.data(), stampCksumvfsPageSize_, sum);
      status = writeBytes(stampCksumvfsPageSize_ - kCksumvfsReserve, sum, sizeof(sum));
    }
  }
  if (status.isOk()) status = db_->sync();
  if (status.isOk()) status = finishJournal();  // the commit point
  if (!status.isOk()) return status.about(path_);  // still writing: the caller rolls back
  // pager_end_transaction: only now, with the journal gone and EXCLUSIVE still held, cut a file
  // that shrank. Cutting earlier would lose pages the journal does not hold (it keeps only
  // pages that were overwritten), and a crash between the two steps merely leaves unused
  // pages past the valid in-header size.
  uint64_t size = 0;
  status = db_->size(&size);
  if (status.isOk() && size > newSize) status = db_->truncate(newSize);
  state_ = State::kReading;
  if (!status.isOk()) {
    lock_.unlock(DbLockLevel::kShared);
    return status.about(path_);
  }
  return lock_.unlock(DbLockLevel::kShared).about(path_);
}

Status Pager::rollback() {
  if (state_ != State::kWriting) return misuse(path_, "rollback() needs a write transaction");
  if (wal_) {
    wal_->undo();
    wal_->endWrite();
    state_ = State::kReading;
    return Status::ok();
  }
  Status status;
  if (databaseWritten_) {
    PlaybackResult result;
    status = journal_ ? playBackJournal(*db_, *journal_, journalPageSize_, &result)
                      : Status::error(Code::kInternal, "no journal to roll '" + path_ + "' back with");
  }
  if (status.isOk()) {
    status = finishJournal();
  } else {
    journal_.reset();  // leave the journal hot on disk: the next opener rolls back
  }
  state_ = State::kReading;
  Status unlocked = lock_.unlock(DbLockLevel::kShared);
  return (status.isOk() ? unlocked : status).about(path_);
}

}  // namespace litevault
