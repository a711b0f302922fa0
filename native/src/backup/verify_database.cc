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

// Pages are read in 1 MiB chunks into two buffers: a helper thread checks one chunk while this
// thread reads the next (reading is the larger part: the kernel's copy out of the page cache).
// Only this thread touches the pager.
Status DatabaseVerify::runLocked(Pager& pager, StructureCheck::Report* out) {
  const uint32_t pageCount = pager.pageCount();
  const uint32_t pageSize = pager.pageSize();
  pageCount_ = pageCount;
  out->pageSize = pageSize;
  out->pageCount = pageCount;
  if (pageCount == 0) return Status::ok();
  const uint32_t lockPage = lockBytePage(pageSize);
  const uint32_t chunkPages = static_cast<uint32_t>(std::max<size_t>(1, kChunkBytes / pageSize));
  std::vector<uint8_t> buffers[2] = {std::vector<uint8_t>(size_t(chunkPages) * pageSize),
                                     std::vector<uint8_t>(size_t(chunkPages) * pageSize)};
  LV_RETURN_IF_ERROR(pager.readPages(1, 1, buffers[0].data()));
  StructureCheck check(buffers[0].data(), pageSize, pageCount, options_);

  // The hand-off: `ready` is the chunk the checker may take (first page, count; count 0: none),
  // `busy` while it checks one, `stop` to end it.
  std::mutex mutex;
  std::condition_variable changed;
  struct Chunk {
    const uint8_t* data;
    uint32_t first, count;
  } ready{nullptr, 0, 0};
  bool busy = false, stop = false;
  std::thread checker([&] {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      changed.wait(lock, [&] { return stop || ready.count != 0; });
      if (ready.count == 0) return;
      const Chunk chunk = ready;
      ready.count = 0;
      busy = true;
      lock.unlock();
      for (uint32_t i = 0; i < chunk.count; i++) check.addPage(chunk.first + i, chunk.data + size_t(i) * pageSize);
      lock.lock();
      busy = false;
      changed.notify_all();
    }
  });
  auto idle = [&](std::unique_lock<std::mutex>& lock) { changed.wait(lock, [&] { return ready.count == 0 && !busy; }); };
  Status status;
  int current = 0;
  for (uint32_t next = 1; next <= pageCount && status.isOk();) {
    if (cancelled_.load()) {
      status = Status::error(Code::kInterrupt, "verify of '" + pager.path() + "' was cancelled");
      break;
    }
    if (next == lockPage) {
      next++;
      continue;
    }
    uint32_t count = std::min(chunkPages, pageCount - next + 1);
    if (next < lockPage && lockPage < next + count) count = lockPage - next;
    // buffers[current] held the chunk before the last, which the checker finished before the
    // last one was handed to it.
    status = pager.readPages(next, count, buffers[current].data());
    if (!status.isOk()) break;
    {
      std::unique_lock<std::mutex> lock(mutex);
      idle(lock);  // the previous chunk is checked: its buffer is free for the next read
      ready = Chunk{buffers[current].data(), next, count};
      changed.notify_all();
    }
    current ^= 1;
    next += count;
    pagesRead_ = next - 1;
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    idle(lock);
    stop = true;
    changed.notify_all();
  }
  checker.join();
  LV_RETURN_IF_ERROR(status);
  return check.finish([&pager](uint32_t page, uint8_t* image) { return pager.readPages(page, 1, image); }, out);
}

}  // namespace litevault
