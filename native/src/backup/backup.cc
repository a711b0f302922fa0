// SQLite's online backup between two rollback-journal databases; see backup.h.
#include "backup/backup.h"

#include <algorithm>

#include "format/byte_order.h"
#include "format/new_database.h"
#include "os/sync_point.h"
#include "verify/cksumvfs.h"

namespace litevault {
namespace {

constexpr size_t kChunkBytes = 1 << 20;  // source pages read (and written) per syscall
// A file piece shorter than this goes through the buffer with its neighbours: one copy_file_range
// per page or two between WAL frames would cost more syscalls than the buffered chunk.
constexpr uint32_t kMinKernelPages = 16;

uint32_t chunkPages(uint32_t pageSize) { return static_cast<uint32_t>(std::max<size_t>(1, kChunkBytes / pageSize)); }
constexpr uint32_t kDefaultPageSize = 4096;  // SQLITE_DEFAULT_PAGE_SIZE: an empty source's page size

}  // namespace

Status Backup::create(std::shared_ptr<Connection> destination, std::shared_ptr<Connection> source, Mode mode,
                      bool verify, std::unique_ptr<Backup>* out) {
  out->reset();
  if (!destination || !source) return Status::error(Code::kMisuse, "backup needs a source and a destination");
  if (destination == source) return Status::error(Code::kError, "source and destination must be distinct");
  if (destination->closed.load() || source->closed.load()) {
    return Status::error(Code::kMisuse, "the database handle is closed");
  }
  // Files never change under a Pager, so this needs no lock.
  const File& d = destination->pager->file();
  const File& s = source->pager->file();
  if (d.device() == s.device() && d.inode() == s.inode()) {
    return Status::error(Code::kError, "source and destination must be distinct: '" + source->pager->path() +
                                           "' and '" + destination->pager->path() + "' are the same file");
  }
  if (destination->pinnedReads.load() > 0) {
    return Status::error(Code::kError, "destination database is in use: '" + destination->pager->path() +
                                           "' has a read transaction open (the pinned snapshot of a backup from it)");
  }
  bool idle = false;
  if (!destination->backupDestination.compare_exchange_strong(idle, true)) {
    return Status::error(Code::kError, "destination database is in use: '" + destination->pager->path() +
                                           "' is already the destination of an unfinished backup");
  }
  destination->backups++;
  source->backups++;
  out->reset(new Backup(std::move(destination), std::move(source), mode, verify));
  return Status::ok();
}

Backup::Backup(std::shared_ptr<Connection> destination, std::shared_ptr<Connection> source, Mode mode, bool verify)
    : destination_(std::move(destination)), source_(std::move(source)), verify_(verify), mode_(mode) {}

Backup::~Backup() {
  if (!finished_.load()) finish();
}

Backup::Progress Backup::progress() const {
  Progress p;
  p.done = done_.load();
  p.remaining = remaining_.load();
  p.pageCount = pageCount_.load();
  p.restarts = restarts_.load();
  p.pageSize = pageSize_.load();
  p.mode = mode_.load();
  p.snapshotFrame = snapshotFrame_.load();
  p.kernelPages = kernelPages_.load();
  return p;
}

Status Backup::step(int pages, Progress* out) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (finished_.load()) return Status::error(Code::kMisuse, "backup step() after finish()");
  Status status = sticky_;
  if (status.isOk() && !done_.load()) {
    std::scoped_lock locks(destination_->mutex, source_->mutex);
    status = stepLocked(*source_->pager, *destination_->pager, pages);
    if (!status.isOk() && !isRetryable(status.code())) sticky_ = status;
  }
  *out = progress();
  return status;
}

// Opens the source read transaction for this step (restart mode) or for the whole copy
// (snapshot mode). When the source changed since the pages already copied were read, the copy
// starts over from page 1.
Status Backup::beginSource(Pager& src) {
  if (sourceOpen_) return Status::ok();  // the pinned snapshot
  if (src.state() != Pager::State::kNone) {
    return Status::error(Code::kLocked, "source database '" + src.path() +
                                            "' is in use by another operation of this process (a backup's destination or snapshot)");
  }
  LV_RETURN_IF_ERROR(src.beginRead());
  sourceOpen_ = true;
  Mode automatic = Mode::kAuto;  // a compare-exchange, so a holdSource() meanwhile is never undone
  mode_.compare_exchange_strong(automatic, src.wal() != nullptr ? Mode::kSnapshot : Mode::kRestart);
  snapshotFrame_ = src.wal() != nullptr ? src.wal()->mxFrame() : 0;
  // Our own signature, not the pager's: another backup or a checkpoint on the same handle may
  // have read the source since, and must not hide the change from us.
  if (copying_ && src.view() != copiedView_) {
    next_ = 1;  // another connection wrote the source since we read it: start over
    restarts_++;
  }
  copiedView_ = src.view();
  return Status::ok();
}

void Backup::endSource(Pager& src) {
  if (!sourceOpen_) return;
  src.endRead();
  sourceOpen_ = false;
  if (pinned_) source_->pinnedReads--;
  pinned_ = false;
}

Status Backup::stepLocked(Pager& src, Pager& dst, int pages) {
  LV_SYNC_POINT("backup-step-begin");
  LV_RETURN_IF_ERROR(beginSource(src));
  Status status;
  if (!destinationOpen_) status = beginDestination(src, dst);
  // backup.c, every step: a WAL destination must keep its page size (its WAL frames have one
  // size), and the source's may change between steps. An empty source has the default size.
  const uint32_t sourcePageSize = src.pageCount() != 0 ? src.pageSize() : kDefaultPageSize;
  if (status.isOk() && dst.isWal() && dst.pageSize() != sourcePageSize) {
    status = Status::error(Code::kReadOnly, "cannot back up into WAL database '" + dst.path() + "': its page size (" +
                                                std::to_string(dst.pageSize()) + ") differs from the source's (" +
                                                std::to_string(sourcePageSize) + ")");
  }
  if (status.isOk()) {
    const uint32_t sourcePages = src.pageCount();
    const uint64_t wanted = pages < 0 ? sourcePages : std::min<uint64_t>(sourcePages, uint64_t(next_) - 1 + uint64_t(pages));
    copying_ = true;
    status = copyPages(src, dst, static_cast<uint32_t>(wanted));
    LV_SYNC_POINT("backup-after-copy");
    pageCount_ = sourcePages;
    pageSize_ = src.pageSize();
    remaining_ = next_ <= sourcePages ? sourcePages + 1 - next_ : 0;
    if (status.isOk() && next_ > sourcePages) {
      status = complete(src, dst);
      if (status.isOk()) done_ = true;
    }
  }
  // Restart mode reads the source only during a step (writers run in between); a snapshot is
  // kept until the copy is done, or until an error (the next step then takes a new one).
  if (mode_.load() != Mode::kSnapshot || done_.load() || !status.isOk()) endSource(src);
  if (sourceOpen_ && !pinned_) {  // kept past this step: the source connection is pinned
    pinned_ = true;
    source_->pinnedReads++;
  }
  return status;
}

Status Backup::beginDestination(Pager& /*src*/, Pager& dst) {
  // Read (rolling back a hot journal left in the destination) and RESERVED / the WAL write lock,
  // retried together with every lock dropped between attempts; then EXCLUSIVE. The WAL page-size
  // check runs in stepLocked, on every step.
  LV_RETURN_IF_ERROR(dst.beginWriteTransaction());
  destinationOldCookie_ = dst.header().schemaCookie;
  destinationOpen_ = true;
  next_ = 1;
  return Status::ok();
}

// Copies source pages next_..last into the destination at the same byte offsets, never touching
// the lock-byte page. Pages the source's database file holds (every page of a rollback source,
// those of a WAL snapshot that the WAL does not hold) go file to file inside the kernel
// (Pager::copyBytesFrom), a piece of at least kMinKernelPages per syscall, where the destination
// is a rollback-journal database and the kernel copies between the two files. Through buffer_, a
// chunk per syscall: page 1's chunk (byte 28 and a cksumvfs stamp are set in the copy), WAL
// frames and short file pieces between kernel pieces, every page of a checked copy (the check
// reads them), and all pages once the kernel has refused. A run's originals are journaled and
// sealed once, before its first piece (an existing destination would otherwise seal a journal
// segment, two syncs, per piece).
Status Backup::copyPages(Pager& src, Pager& dst, uint32_t last) {
  if (next_ > last) return Status::ok();  // also an empty source, whose page size may be 0
  const uint32_t pageSize = src.pageSize();
  const uint32_t lockPage = lockBytePage(pageSize);
  while (next_ <= last) {
    if (next_ == lockPage) {
      next_++;
      continue;
    }
    const uint32_t end = next_ < lockPage && lockPage <= last ? lockPage : last + 1;  // this run: [next_, end)
    if (next_ == 1 || verify_ || !kernelCopy_ || dst.isWal()) {
      LV_RETURN_IF_ERROR(copyBuffered(src, dst, std::min(chunkPages(pageSize), end - next_)));
      continue;
    }
    LV_RETURN_IF_ERROR(dst.prepareWrite(uint64_t(next_ - 1) * pageSize, size_t(end - next_) * pageSize));
    LV_RETURN_IF_ERROR(src.planRead(next_, end - next_, &plan_));
    for (const Pager::ReadPiece& piece : plan_) {  // the pieces tile [next_, end), in order
      if (piece.frame != 0 || piece.count < kMinKernelPages || !kernelCopy_) continue;  // buffered below
      LV_RETURN_IF_ERROR(copyBufferedUpTo(src, dst, piece.page));
      const uint64_t offset = uint64_t(piece.page - 1) * pageSize;
      size_t copied = 0;
      bool refused = false;
      LV_RETURN_IF_ERROR(dst.copyBytesFrom(offset, src.file(), offset, size_t(piece.count) * pageSize, &copied, &refused));
      if (refused) kernelCopy_ = false;
      const uint32_t moved = static_cast<uint32_t>(copied / pageSize);  // a partial page is written again below
      kernelPages_ += moved;
      next_ += moved;
    }
    LV_RETURN_IF_ERROR(copyBufferedUpTo(src, dst, end));
  }
  return Status::ok();
}

// Pages next_..end-1 through buffer_, a chunk at a time.
Status Backup::copyBufferedUpTo(Pager& src, Pager& dst, uint32_t end) {
  const uint32_t chunk = chunkPages(src.pageSize());
  while (next_ < end) LV_RETURN_IF_ERROR(copyBuffered(src, dst, std::min(chunk, end - next_)));
  return Status::ok();
}

// Pages next_..next_+count-1 (at most a chunk) through buffer_: read as the source has them,
// written at the same offsets.
Status Backup::copyBuffered(Pager& src, Pager& dst, uint32_t count) {
  const uint32_t pageSize = src.pageSize();
  buffer_.resize(size_t(chunkPages(pageSize)) * pageSize);
  LV_RETURN_IF_ERROR(src.readPages(next_, count, buffer_.data()));
  if (verify_) {  // the pages as the source has them (before byte 28 is set)
    for (uint32_t i = 0; i < count; i++) check_.add(next_ + i, buffer_.data() + size_t(i) * pageSize, pageSize, src.pageCount());
  }
  if (next_ == 1) {
    // A cksumvfs source (verify/cksumvfs.h) keeps its page checksums in the copy: page 1 is
    // stamped again after byte 28 here and the header changes of the commit.
    stampCksumvfs_ = setCopyPageCount(buffer_.data(), pageSize, src.pageCount());
  }
  LV_RETURN_IF_ERROR(dst.writeBytes(uint64_t(next_ - 1) * pageSize, buffer_.data(), size_t(count) * pageSize));
  next_ += count;
  return Status::ok();
}

// The last step: SQLite's DONE branch of sqlite3_backup_step.
Status Backup::complete(Pager& src, Pager& dst) {
  if (verify_) LV_RETURN_IF_ERROR(check_.finish(src, "backup"));
  uint64_t finalSize = uint64_t(src.pageCount()) * src.pageSize();
  if (src.pageCount() == 0) {
    // sqlite3BtreeNewDb: an empty source gives a one-page empty database, in the destination's
    // page size (or the default for a new file); the file ends after one default-size page.
    const bool destinationHadPages = dst.originalPageCount() != 0;
    const uint32_t pageSize = destinationHadPages ? dst.pageSize() : kDefaultPageSize;
    std::vector<uint8_t> page(pageSize);
    encodeEmptyDatabase(pageSize, destinationHadPages ? dst.header().reservedBytes : 0, page.data());
    put4(page.data() + 28, 1);
    LV_RETURN_IF_ERROR(dst.writeBytes(0, page.data(), page.size()));
    finalSize = kDefaultPageSize;
    // A destination that keeps cksumvfs's 8 reserved bytes stays readable through cksumvfs.
    if (destinationHadPages && dst.header().reservedBytes == kCksumvfsReserve) dst.stampCksumvfsPage1AtCommit(pageSize);
  }
  if (stampCksumvfs_ && src.pageCount() != 0) dst.stampCksumvfsPage1AtCommit(src.pageSize());
  uint8_t cookie[4];
  put4(cookie, destinationOldCookie_ + 1);
  LV_RETURN_IF_ERROR(dst.writeBytes(40, cookie, sizeof(cookie)));
  if (dst.wal() != nullptr) {
    static const uint8_t kWalVersions[2] = {2, 2};  // sqlite3BtreeSetVersion(2): it stays a WAL database
    LV_RETURN_IF_ERROR(dst.writeBytes(18, kWalVersions, sizeof(kWalVersions)));
  }
  LV_RETURN_IF_ERROR(dst.commit(finalSize));
  destinationOpen_ = false;
  check_.done();
  return dst.endRead();
}

Status Backup::finish() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (finished_.load()) return Status::error(Code::kMisuse, "backup finish() was already called");
  finished_ = true;
  std::scoped_lock locks(destination_->mutex, source_->mutex);
  Status status = sticky_;
  endSource(*source_->pager);
  if (destinationOpen_) {
    Status rolledBack = destination_->pager->rollback();
    Status ended = destination_->pager->endRead();
    destinationOpen_ = false;
    if (status.isOk()) status = rolledBack.isOk() ? ended : rolledBack;
  }
  destination_->backupDestination = false;
  destination_->backups--;
  source_->backups--;
  return status;
}

}  // namespace litevault
