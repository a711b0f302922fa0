// Backup: SQLite's online backup (sqlite3_backup_init/step/remaining/pagecount/finish) between two
// Connections, for rollback-journal databases (reference §8; design.md "Online backup").
//
//   create   source and destination must be different files (by inode) and the destination must
//            have no other backup writing into it (our handles hold no transaction between
//            calls, so that is the only transaction it could have). Takes no lock and does no
//            I/O, so the main thread may call it.
//   step(n)  opens a read transaction on the source for this step only (SHARED: writers in other
//            processes run freely between steps); on the first step opens the destination's
//            write transaction (EXCLUSIVE + journal), held until DONE or finish. If the source
//            changed since the previous step (bytes 24..39), the copy restarts from page 1 and
//            `restarts` counts it. Copies up to n pages (n < 0: all), skipping the lock-byte
//            page; page 1's byte 28 gets the source page count. On the last page: schema cookie
//            = destination's old cookie + 1, the file ends at exactly pageCount x source page
//            size (a byte image of the source, whatever the destination's page size was), and
//            the destination commits (change counter = its old counter + 1).
//   finish   exactly once; rolls the destination back unless DONE; returns the first fatal
//            error any step hit (BUSY and LOCKED are not fatal), else OK.
//
// Modes (litevault's addition): kRestart is SQLite's behaviour above. kSnapshot holds ONE read
// transaction on the source from the first step to the last, so the copy is one consistent
// snapshot and never restarts however often others commit; for a WAL source writers are not
// blocked (checkpoints cannot pass the pinned snapshot meanwhile), for a rollback-journal source
// the SHARED lock would block writers, so kAuto picks kSnapshot for WAL sources only.
// holdSource() switches a running kRestart backup to kSnapshot (a source that keeps changing).
//
// Verification (litevault's addition, off by default as in SQLite): with `verify`, every page
// copied is also handed to a structure check (verify/structure_check.h) as it is copied, and the
// last step runs the check's second phase on the source (still in the same read transaction)
// before the destination commits: a source that fails it fails the backup with SQLITE_CORRUPT
// naming the first bad page, and the destination is rolled back, left as it was. A restart
// starts the check over with the copy.
//
// Copying (litevault's addition): into a rollback-journal destination, the pages the source's
// database file holds move file to file inside the kernel (copy_file_range), journaled as any
// write; page 1, WAL frames and checked copies go through a buffer; where the kernel refuses the
// two files (another file system) every page does, for the rest of the backup (copyPages).
//
// Error rule: SQLITE_BUSY and SQLITE_LOCKED leave the handle as it was (retry the step). Any
// other failure is sticky: every later step and finish() report it again.
//
// Thread safety: step(), finish() and the destructor may be called from any thread; a mutex
// serializes them (one step at a time, never interleaved). progress() is lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "pager/connection.h"
#include "pager/copy_check.h"

namespace litevault {

class Backup {
 public:
  enum class Mode { kAuto, kSnapshot, kRestart };

  struct Progress {
    bool done = false;
    uint32_t remaining = 0;  // pages still to copy, as of the last step
    uint32_t pageCount = 0;  // pages in the source, as of the last step
    uint32_t restarts = 0;   // times the copy started over because the source changed
    uint32_t pageSize = 0;   // the source's page size, as of the last step
    Mode mode = Mode::kAuto;  // the mode in use (decided at the first step)
    uint32_t snapshotFrame = 0;  // the WAL frame (mxFrame) of the source snapshot being copied
    uint64_t kernelPages = 0;    // pages copied file to file by the kernel (copyPages), all passes
  };

  // Errors: SQLITE_ERROR (same database; destination in use), SQLITE_MISUSE (closed handle).
  static Status create(std::shared_ptr<Connection> destination, std::shared_ptr<Connection> source, Mode mode,
                       bool verify, std::unique_ptr<Backup>* out);
  ~Backup();

  Status step(int pages, Progress* out);
  // Switches to kSnapshot: from the next step on (or at the end of a step running now), the
  // source's read transaction is kept until DONE, so the copy can restart at most once more.
  // backup() uses it after maxRestarts restarts. Lock-free; any thread.
  void holdSource() { mode_ = Mode::kSnapshot; }
  Status finish();
  Progress progress() const;
  bool finished() const { return finished_.load(); }

 private:
  Backup(std::shared_ptr<Connection> destination, std::shared_ptr<Connection> source, Mode mode, bool verify);
  Status beginSource(Pager& src);
  void endSource(Pager& src);
  Status stepLocked(Pager& src, Pager& dst, int pages);
  Status beginDestination(Pager& src, Pager& dst);
  Status copyPages(Pager& src, Pager& dst, uint32_t last);
  Status copyBuffered(Pager& src, Pager& dst, uint32_t count);
  Status copyBufferedUpTo(Pager& src, Pager& dst, uint32_t end);
  Status complete(Pager& src, Pager& dst);
  Status finishLocked();

  const std::shared_ptr<Connection> destination_;
  const std::shared_ptr<Connection> source_;
  std::mutex mutex_;  // serializes step/finish

  // Guarded by mutex_.
  Status sticky_;                // first fatal error
  bool destinationOpen_ = false;  // the destination write transaction is open
  bool sourceOpen_ = false;       // this backup holds the source read transaction (snapshot mode)
  bool pinned_ = false;           // sourceOpen_ past a step, counted in source_->pinnedReads
  bool copying_ = false;          // pages of the current source view have been copied
  uint32_t next_ = 1;            // next source page to copy (SQLite's iNext)
  uint32_t destinationOldCookie_ = 0;
  ViewSignature copiedView_;     // the source version the copied pages came from (valid while copying_)
  std::vector<uint8_t> buffer_;  // one chunk of source pages; reused, never per page
  std::vector<Pager::ReadPiece> plan_;  // where the pages of one run live; reused
  bool kernelCopy_ = true;       // false once the kernel refused to copy between the two files
  const bool verify_;
  bool stampCksumvfs_ = false;  // page 1 as read carried a cksumvfs checksum
  CopyCheck check_;  // verify_: the pages copied in this pass (from page 1)

  std::atomic<bool> done_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint32_t> remaining_{0};
  std::atomic<uint32_t> pageCount_{0};
  std::atomic<uint32_t> restarts_{0};
  std::atomic<uint32_t> pageSize_{0};
  std::atomic<Mode> mode_;
  std::atomic<uint32_t> snapshotFrame_{0};
  std::atomic<uint64_t> kernelPages_{0};
};

}  // namespace litevault
