// The structure check of a live database; see verify_database.h.
#include "backup/verify_database.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
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

// Reading is most of the work (the kernel's copy out of the page cache: about three quarters
// of the CPU time of a check), so two reader threads share it. This thread plans each 1 MiB
// chunk (Pager::planRead: the only pager calls until the second phase) and hands it to
// whichever reader is free; a reader preads its chunk into its own buffer (Pager::readPlanned)
// and then adds its pages to the check, one reader at a time. Memory: two chunks.
Status DatabaseVerify::runLocked(Pager& pager, StructureCheck::Report* out) {
  const uint32_t pageCount = pager.pageCount();
  const uint32_t pageSize = pager.pageSize();
  pageCount_ = pageCount;
  out->pageSize = pageSize;
  out->pageCount = pageCount;
  if (pageCount == 0) return Status::ok();
  const uint32_t lockPage = lockBytePage(pageSize);
  const uint32_t chunkPages = static_cast<uint32_t>(std::max<size_t>(1, kChunkBytes / pageSize));
  std::vector<uint8_t> page1(pageSize);
  LV_RETURN_IF_ERROR(pager.readPages(1, 1, page1.data()));
  StructureCheck check(page1.data(), pageSize, pageCount, options_);

  struct Chunk {
    uint32_t first = 0, count = 0;
    std::vector<Pager::ReadPiece> plan;
  };
  // The hand-off: `offered` is the chunk the next free reader takes; `stop` ends the readers;
  // `failure` is the first reader's error. All guarded by `mutex`; `checkMutex` serializes
  // check.addPage.
  std::mutex mutex, checkMutex;
  std::condition_variable changed;
  Chunk offered;
  bool hasOffer = false, stop = false;
  Status failure;
  auto reader = [&] {
    std::vector<uint8_t> buffer(size_t(chunkPages) * pageSize);
    Chunk mine;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stop || hasOffer; });
        if (!hasOffer) return;
        std::swap(mine, offered);
        hasOffer = false;
        changed.notify_all();
      }
      Status status = pager.readPlanned(mine.plan, mine.first, buffer.data());
      if (status.isOk()) {
        std::lock_guard<std::mutex> guard(checkMutex);
        for (uint32_t i = 0; i < mine.count; i++) check.addPage(mine.first + i, buffer.data() + size_t(i) * pageSize);
      }
      pagesRead_ += mine.count;
      if (!status.isOk()) {
        std::lock_guard<std::mutex> guard(mutex);
        if (failure.isOk()) failure = status;
        changed.notify_all();
      }
    }
  };
  std::thread readers[2] = {std::thread(reader), std::thread(reader)};
  Status status;
  Chunk next;
  for (uint32_t first = 1; first <= pageCount;) {
    if (cancelled_.load()) {
      status = Status::error(Code::kInterrupt, "verify of '" + pager.path() + "' was cancelled");
      break;
    }
    if (first == lockPage) {
      first++;
      continue;
    }
    uint32_t count = std::min(chunkPages, pageCount - first + 1);
    if (first < lockPage && lockPage < first + count) count = lockPage - first;
    status = pager.planRead(first, count, &next.plan);
    if (!status.isOk()) break;
    next.first = first;
    next.count = count;
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return !hasOffer || !failure.isOk(); });
    if (!failure.isOk()) break;
    std::swap(next, offered);
    hasOffer = true;
    changed.notify_all();
    first += count;
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return !hasOffer || !failure.isOk(); });
    hasOffer = false;  // after a failure: not read
    stop = true;
    changed.notify_all();
  }
  for (std::thread& t : readers) t.join();
  if (status.isOk()) status = failure;
  LV_RETURN_IF_ERROR(status);
  pagesRead_ = pageCount;  // the lock-byte page included
  return check.finish([&pager](uint32_t page, uint8_t* image) { return pager.readPages(page, 1, image); }, out);
}

}  // namespace litevault
