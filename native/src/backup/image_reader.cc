// A snapshot's backup image, read out in chunks; see image_reader.h.
#include "backup/image_reader.h"

#include <cstring>

#include "format/byte_order.h"
#include "format/db_header.h"
#include "format/new_database.h"
#include "os/out_fd.h"
#include "os/sync_point.h"
#include "verify/cksumvfs.h"

namespace litevault {
namespace {

constexpr uint32_t kDefaultPageSize = 4096;  // SQLITE_DEFAULT_PAGE_SIZE: an empty source's image

}  // namespace

Status ImageReader::create(std::shared_ptr<Connection> source, std::unique_ptr<ImageReader>* out) {
  out->reset();
  if (!source) return Status::error(Code::kMisuse, "a backup stream needs a source database");
  if (source->closed.load() || !source->pager) return Status::error(Code::kMisuse, "the database handle is closed");
  source->backups++;
  out->reset(new ImageReader(std::move(source)));
  return Status::ok();
}

ImageReader::~ImageReader() { end(); }

Status ImageReader::begin(int busyTimeoutMs, Snapshot* out) {
  std::unique_lock<std::shared_mutex> guard(lifetime_);
  if (ended_) return Status::error(Code::kMisuse, "backup stream: begin() after end()");
  if (!begun_) {
    std::lock_guard<std::mutex> sourceGuard(source_->mutex);
    if (!source_->pager) return Status::error(Code::kMisuse, "the database handle is closed");
    Pager& src = *source_->pager;
    // An unfinished Backup into this handle (even one not stepped yet) will need its write
    // transaction: a snapshot held here would make that Backup's steps fail for good.
    if (src.state() != Pager::State::kNone || source_->backupDestination.load()) {
      return Status::error(Code::kLocked, "source database '" + src.path() +
                                              "' is in use by another operation of this process (a backup's destination or snapshot)");
    }
    const int timeout = src.busyTimeout();
    src.setBusyTimeout(busyTimeoutMs);
    Status status = src.beginRead();
    src.setBusyTimeout(timeout);
    LV_RETURN_IF_ERROR(status);
    begun_ = true;
    source_->pinnedReads++;
    snapshot_.wal = src.wal() != nullptr;
    snapshot_.walFrame = src.wal() != nullptr ? src.wal()->mxFrame() : 0;
    snapshot_.empty = src.pageCount() == 0;
    snapshot_.pageSize = src.pageCount() != 0 ? src.pageSize() : kDefaultPageSize;
    snapshot_.pageCount = src.pageCount() != 0 ? src.pageCount() : 1;
    snapshot_.bytes = uint64_t(snapshot_.pageSize) * snapshot_.pageCount;
  }
  *out = snapshot_;
  return Status::ok();
}

// backup(): backupOnePage sets byte 28; the new file's change counter and schema cookie were 0,
// so its commit writes 1 at 24 and 92 (pager_incr_changecounter) and 1 at 40 (iDestSchema + 1).
void ImageReader::stampPage1(uint8_t* page1, bool cksumvfs) const {
  put4(page1 + 24, 1);
  put4(page1 + 40, 1);
  put4(page1 + 92, 1);
  if (cksumvfs) cksumvfsCompute(page1, snapshot_.pageSize, page1 + snapshot_.pageSize - kCksumvfsReserve);
}

// Checks [offset, offset + n) against the image; *first and *last are its pages.
Status ImageReader::pagesOf(uint64_t offset, size_t n, uint32_t* first, uint32_t* last) const {
  if (!begun_ || ended_) return Status::error(Code::kMisuse, "backup stream: read() outside begin() .. end()");
  const uint32_t pageSize = snapshot_.pageSize;
  if (offset % pageSize != 0 || n % pageSize != 0 || offset > snapshot_.bytes || n > snapshot_.bytes - offset) {
    return Status::error(Code::kMisuse, "backup stream: read() of bytes outside the image or not in whole pages");
  }
  *first = static_cast<uint32_t>(offset / pageSize) + 1;
  *last = *first + static_cast<uint32_t>(n / pageSize) - 1;
  return Status::ok();
}

// Pages [from, to] (none of them the lock-byte page) planned under the connection's mutex; the
// plan stays valid, and the pager usable for reading it, until end(), which waits for us.
Status ImageReader::plan(uint32_t from, uint32_t to, std::vector<Pager::ReadPiece>* out, const Pager** pager) {
  std::lock_guard<std::mutex> sourceGuard(source_->mutex);
  if (!source_->pager) return Status::error(Code::kMisuse, "the database handle is closed");
  *pager = source_->pager.get();
  return source_->pager->planRead(from, to - from + 1, out);
}

Status ImageReader::read(uint64_t offset, size_t n, uint8_t* out) {
  LV_SYNC_POINT("image-reader-read");
  std::shared_lock<std::shared_mutex> guard(lifetime_);
  return readShared(offset, n, out);
}

// read() with lifetime_ held shared.
Status ImageReader::readShared(uint64_t offset, size_t n, uint8_t* out) {
  uint32_t first = 0, last = 0;
  LV_RETURN_IF_ERROR(pagesOf(offset, n, &first, &last));
  if (n == 0) return Status::ok();
  const uint32_t pageSize = snapshot_.pageSize;
  if (snapshot_.empty) {  // sqlite3BtreeNewDb's page in the default size
    encodeEmptyDatabase(kDefaultPageSize, 0, out);
    put4(out + 28, 1);
    stampPage1(out, false);
    return Status::ok();
  }
  const uint32_t lockPage = lockBytePage(pageSize);
  std::vector<Pager::ReadPiece> all, part;
  const Pager* pager = nullptr;
  for (uint32_t from = first; from <= last;) {
    if (from == lockPage) {  // a backup never writes it: zeros
      std::memset(out + size_t(from - first) * pageSize, 0, pageSize);
      from++;
      continue;
    }
    const uint32_t to = (from < lockPage && lockPage <= last) ? lockPage - 1 : last;
    LV_RETURN_IF_ERROR(plan(from, to, &part, &pager));
    all.insert(all.end(), part.begin(), part.end());
    from = to + 1;
  }
  // Outside the connection's mutex: reading only preads.
  if (!all.empty()) LV_RETURN_IF_ERROR(pager->readPlanned(all, first, out));
  if (first == 1) stampPage1(out, setCopyPageCount(out, pageSize, snapshot_.pageCount));
  return Status::ok();
}

Status ImageReader::sendTo(int fd, uint64_t offset, size_t n, const std::string& what) {
  LV_SYNC_POINT("image-reader-read");
  std::shared_lock<std::shared_mutex> guard(lifetime_);
  uint32_t first = 0, last = 0;
  LV_RETURN_IF_ERROR(pagesOf(offset, n, &first, &last));
  if (n == 0) return Status::ok();
  const uint32_t pageSize = snapshot_.pageSize;
  std::vector<uint8_t> page(pageSize);
  const uint32_t lockPage = lockBytePage(pageSize);
  std::vector<Pager::ReadPiece> part;
  const Pager* pager = nullptr;
  for (uint32_t from = first; from <= last;) {
    if (from == 1 || from == lockPage) {  // page 1 is stamped, the lock-byte page zeros: through memory
      LV_RETURN_IF_ERROR(readShared(uint64_t(from - 1) * pageSize, pageSize, page.data()));
      LV_RETURN_IF_ERROR(writeAllTo(fd, page.data(), pageSize, what));
      from++;
      continue;
    }
    const uint32_t to = (from < lockPage && lockPage <= last) ? lockPage - 1 : last;
    LV_RETURN_IF_ERROR(plan(from, to, &part, &pager));
    LV_RETURN_IF_ERROR(pager->sendPlanned(part, fd, page.data(), what));
    from = to + 1;
  }
  return Status::ok();
}

void ImageReader::end() {
  std::unique_lock<std::shared_mutex> guard(lifetime_);
  if (ended_) return;
  ended_ = true;
  std::lock_guard<std::mutex> sourceGuard(source_->mutex);
  if (begun_) {
    if (source_->pager) source_->pager->endRead();
    source_->pinnedReads--;
  }
  source_->backups--;
}

}  // namespace litevault
