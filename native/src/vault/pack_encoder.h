// PackEncoder: turns a pack's page images into the pack object (vault_format.h: header, one zstd
// frame or the raw images, checksum) on the scan's own compression threads, handing the packs
// back in the order they were submitted.
//
// Why its own threads: zstd's multithreaded mode (ZSTD_c_nbWorkers) is not in Debian's static
// libzstd.a (built without ZSTD_MULTITHREAD: nbWorkers' bounds are 0..0), and compression is the
// most expensive part of a full backup (zstd level 1 with long-distance matching runs at about
// 300-400 MB/s per core here, a page-cache read at several GB/s). So with `threads` = N > 0 the scan
// submits each full pack to N threads, each with its own zstd context, and carries on reading
// while they compress: N packs compress at once, and the step that submits pack k returns an
// earlier pack that is ready. With threads = 0 a pack is encoded on the submitting thread.
// A payload zstd cannot shrink is stored raw (compression 0), so a restore never decompresses
// for nothing.
//
// Buffers (ByteBuffer: nothing zero-filled): image buffers go back to a free list as soon as
// their pack is encoded (not when it is taken) and are handed out again by takeBuffer(); a pack is encoded straight into an
// output buffer from a second free list, which the owner gives back with recycle() once it has
// copied the pack out. So a scan allocates a few buffers in all, not one per pack, and a
// buffer's pages are faulted in once.
//
// Thread safety: init/submit/takeOldest/clear/shutdown/takeBuffer/recycle are for one owner (a scan, under its
// mutex); the compression threads are internal. The destructor stops and joins them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/byte_buffer.h"
#include "base/status.h"
#include "vault/compress.h"
#include "vault/vault_format.h"

namespace litevault {

class PackEncoder {
 public:
  struct Encoded {
    Status status;
    std::unique_ptr<ByteBuffer> pack;  // the whole pack object (give it back with recycle())
    Hash128 key;                                 // its checksum
    uint32_t slots = 0;
  };

  PackEncoder() = default;
  ~PackEncoder();
  PackEncoder(const PackEncoder&) = delete;
  PackEncoder& operator=(const PackEncoder&) = delete;

  // Errors: SQLITE_MISUSE (a level zstd refuses), SQLITE_NOMEM; a thread that cannot start
  // means fewer threads (0: inline).
  Status init(bool compress, int level, int threads);

  // A buffer of at least `bytes` bytes for the next pack's images (contents unspecified).
  std::unique_ptr<ByteBuffer> takeBuffer(size_t bytes);
  // Queues images[0 .. slots x pageSize) as the next pack; the buffer moves in.
  void submit(std::unique_ptr<ByteBuffer> images, uint32_t slots, uint32_t pageSize);
  // An Encoded::pack the owner is done with, for the next pack.
  void recycle(std::unique_ptr<ByteBuffer> pack);
  // Packs submitted and not yet taken.
  size_t pending() const { return jobs_.size(); }
  // The oldest pack: waits for it when `wait`; false if there is none, or it is not ready and
  // !wait. A failed encoding is out->status.
  bool takeOldest(bool wait, Encoded* out);
  // Forgets every pack not yet taken (waits for those being compressed).
  void clear();
  // clear(), then stops the threads and frees every buffer and context: the owner is done with
  // it (idempotent; the encoder is not used again).
  void shutdown();
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct Job {
    std::unique_ptr<ByteBuffer> images;
    uint32_t slots = 0;
    uint32_t pageSize = 0;
    bool running = false;
    bool done = false;  // guarded by mutex_ (with the threads); result valid once set
    Encoded result;
  };
  void encode(Compressor* compressor, Job* job);
  static std::unique_ptr<ByteBuffer> take(std::vector<std::unique_ptr<ByteBuffer>>* list, size_t bytes);
  void threadMain(Compressor* compressor);

  bool compress_ = true;
  Compressor inline_;  // threads_ empty: encodes on the submitting thread
  std::vector<std::unique_ptr<Compressor>> compressors_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable work_;  // a job was queued, or stopping_
  std::condition_variable done_;  // a job finished
  bool stopping_ = false;
  std::deque<std::unique_ptr<Job>> jobs_;  // in submission order; the deque itself is the owner's
  std::vector<std::unique_ptr<ByteBuffer>> free_;     // image buffers; guarded by mutex_
  std::vector<std::unique_ptr<ByteBuffer>> outputs_;  // pack buffers; guarded by mutex_
};

}  // namespace litevault
