// The structure check of a live database; see verify_database.h.
#include "backup/verify_database.h"

#include <algorithm>
#include <vector>

#include "format/db_header.h"

namespace litevault {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

Status DatabaseVerify::run(StructureCheck::Report* out) {
  *out = StructureCheck::Report();
  std::lock_guard<std::mutex> guard(connection_->mutex);
  if (connection_->closed.load() || !connection_->pager) return Status::error(Code::kMisuse, "the database handle is closed");
  Pager& pager = *connection_->pager;
  if (pager.state() != Pager::State::kNone) {
    return Status::error(Code::kLocked, "database '" + pager.path() +
                                            "' is in use by another operation of this process (a backup or a snapshot)");
  }
  LV_RETURN_IF_ERROR(pager.beginRead());
  Status status = runLocked(pager, out);
  Status ended = pager.endRead();
  return status.isOk() ? ended : status;
}

Status DatabaseVerify::runLocked(Pager& pager, StructureCheck::Report* out) {
  const uint32_t pageCount = pager.pageCount();
  const uint32_t pageSize = pager.pageSize();
  pageCount_ = pageCount;
  out->pageSize = pageSize;
  out->pageCount = pageCount;
  if (pageCount == 0) return Status::ok();
  const uint32_t lockPage = lockBytePage(pageSize);
  const uint32_t chunkPages = static_cast<uint32_t>(std::max<size_t>(1, kChunkBytes / pageSize));
  std::vector<uint8_t> buffer(size_t(chunkPages) * pageSize);
  LV_RETURN_IF_ERROR(pager.readPages(1, 1, buffer.data()));
  StructureCheck check(buffer.data(), pageSize, pageCount, options_);
  for (uint32_t next = 1; next <= pageCount;) {
    if (cancelled_.load()) return Status::error(Code::kInterrupt, "verify of '" + pager.path() + "' was cancelled");
    if (next == lockPage) {
      next++;
      continue;
    }
    uint32_t count = std::min(chunkPages, pageCount - next + 1);
    if (next < lockPage && lockPage < next + count) count = lockPage - next;
    LV_RETURN_IF_ERROR(pager.readPages(next, count, buffer.data()));
    for (uint32_t i = 0; i < count; i++) check.addPage(next + i, buffer.data() + size_t(i) * pageSize);
    next += count;
    pagesRead_ = next - 1;
  }
  return check.finish([&pager](uint32_t page, uint8_t* image) { return pager.readPages(page, 1, image); }, out);
}

}  // namespace litevault
