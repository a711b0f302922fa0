// Wal: one connection's share in a WAL-mode database (reference §4..§6, §9; wal.c).
//
// It attaches to the -shm (os/shm.h), opens the -wal (deleting both only by
// the last-close rule, pager.h, as sqlite3WalClose does), and runs read
// transactions exactly as SQLite's walTryBeginRead does:
//   * the wal-index header is read lock-free, copy 0, barrier, copy 1; the copies must match,
//     be initialized and have a good checksum; otherwise the reader takes WRITE and, if the
//     header is still bad, rebuilds the index from the -wal (recovery, under WRITE + CKPT +
//     RECOVER, then the header and read marks are written as SQLite's walIndexRecover does);
//   * when every frame is backfilled the reader takes READ_LOCK(0) and reads the database file
//     only; otherwise it takes the read mark with the largest value <= mxFrame, first trying to
//     move a mark up to mxFrame under an exclusive lock, then holds that mark SHARED and
//     re-validates the mark and the header (any change: retry, sleeping from the 6th try);
//   * while the read lock is held, the snapshot (mxFrame, nPage, minFrame = nBackfill + 1) is
//     fixed: a page's newest frame <= mxFrame and >= minFrame is found through the hash tables,
//     and checkpointers cannot backfill past the mark nor writers restart the WAL.
//
// Invariant: holding READ_LOCK(i) shared means aReadMark[i] does not change (changing it needs
// the lock exclusive) and no checkpointer copies frames past it into the database.
//
// Locks: the caller (the pager) holds SHARED on the database file for the Wal's whole life.
// Thread safety: not thread-safe; one Wal per Pager, serialized by the connection's mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/wal_format.h"
#include "format/wal_index.h"
#include "os/file.h"
#include "os/shm.h"

namespace litevault {

// The os layer maps the -shm in regions of the wal-index's region size (wal.c passes
// WALINDEX_PGSZ to xShmMap).
static_assert(kShmRegionSize == kWalIndexRegionSize, "-shm regions are wal-index regions");

struct WalCheckpointInfo {
  uint32_t nBackfill = 0;
  uint32_t nBackfillAttempted = 0;
  uint32_t readMarks[kWalReaders] = {};
};

class Wal {
 public:
  // Errors: SQLITE_BUSY (the -shm is being initialized), SQLITE_CANTOPEN, SQLITE_READONLY_CANTINIT.
  static Status open(const std::string& dbPath, uint32_t dbPageSize, std::unique_ptr<Wal>* out);
  ~Wal();

  // Starts a read transaction; *changed when the wal-index header differs from the previous
  // snapshot's. Errors: SQLITE_BUSY / SQLITE_BUSY_RECOVERY, SQLITE_PROTOCOL, SQLITE_CANTOPEN.
  Status beginRead(bool* changed);
  void endRead();
  bool reading() const { return readLock_ >= 0; }

  // Valid while reading.
  uint32_t mxFrame() const { return header_.mxFrame; }
  uint32_t nPage() const { return header_.nPage; }        // 0 when the WAL holds no commit
  uint32_t pageSize() const { return walPageSize_; }
  int readLockIndex() const { return readLock_; }
  // The 48 wal-index header bytes of this snapshot (the pager's ViewSignature in WAL mode).
  const uint8_t* headerBytes() const { return header_.raw; }
  // The newest frame holding `page` in this snapshot, or 0 when the page is read from the file.
  Status findFrame(uint32_t page, uint32_t* frame);
  Status readFrame(uint32_t frame, uint8_t* out) const;

  // The checkpoint info in the -shm (nBackfill, read marks), read with relaxed loads.
  WalCheckpointInfo checkpointInfo();

  // For the WAL follower (wal_follow.h). beginReadThroughWal is walTryBeginRead with useWal = 1:
  // always a READ_LOCK(i >= 1) whose mark is mxFrame, never READ_LOCK(0), so no writer or
  // checkpointer can restart the WAL while it is held. indexHeader() is the snapshot's
  // wal-index header (valid while reading, and after a checkpoint step: the header it left);
  // walFile() reads the -wal raw. lockWriter takes WRITE exclusively, waiting up to
  // busyTimeoutMs as a RESTART checkpoint does (SQLITE_BUSY after); the caller holds CKPT
  // (lockCheckpointer) and no read transaction; unlockCheckpointer() releases both.
  Status beginReadThroughWal(bool* changed) { return beginReadWith(changed, true); }
  const WalIndexHeader& indexHeader() const { return header_; }
  const File& walFile() const { return *wal_; }
  Status lockWriter(int busyTimeoutMs);

  // Write transactions (wal_write.cc; sqlite3WalBeginWriteTransaction, walFrames,
  // walRestartLog, sqlite3WalUndo). beginWrite needs a read transaction and takes WRITE_LOCK
  // exclusively (one attempt: SQLITE_BUSY); if another connection committed since our snapshot
  // it fails with SQLITE_BUSY_SNAPSHOT. appendFrames writes whole pages as frames (restarting
  // the WAL first when every frame was backfilled and no reader uses it), indexes them, and with
  // commitPageCount != 0 marks the last one as the commit frame, syncs the WAL and publishes the
  // new wal-index header (copy 1, barrier, copy 0). Frames appended without a commit are
  // invisible to readers and discarded by undo() or by a crash.
  Status beginWrite();
  struct FrameToWrite {
    uint32_t page;
    const uint8_t* data;
  };
  Status appendFrames(const FrameToWrite* frames, size_t count, uint32_t commitPageCount, uint32_t pageSize);
  void undo();
  void endWrite();
  bool writing() const { return locks_.holdsExclusive(kWriteLock); }

  // The last-close rule (sqlite3WalClose): the caller holds EXCLUSIVE on the database file and
  // has checkpointed every frame; when this Wal goes, the -shm is deleted with its last
  // attachment in the process (unixShmUnmap with deleteFlag). The caller then deletes the -wal.
  void deleteShmOnDetach() { deleteShm_ = true; }

  // Checkpoints (wal_checkpoint.cc; sqlite3WalCheckpoint, walCheckpoint, walBusyLock).
  // The caller holds no read transaction (SQLITE_LOCKED otherwise). lockCheckpointer takes CKPT
  // exclusively, once, with no waiting (SQLITE_BUSY at once when another checkpointer has it,
  // another Checkpoint on this same connection included).
  enum class CheckpointMode { kPassive = 0, kFull = 1, kRestart = 2, kTruncate = 3 };
  struct CheckpointProgress {
    bool busy = false;        // something waited for could not be had; SQLite's busy column
    bool done = false;        // nothing more this checkpoint can do
    uint32_t log = 0;         // frames in the WAL (mxFrame)
    uint32_t checkpointed = 0;  // frames backfilled (nBackfill)
  };
  Status lockCheckpointer();
  void unlockCheckpointer();
  // Backfills up to `frames` more frames (all when negative) into `db`, durably: the frames are
  // synced in the WAL first, the database is synced before nBackfill moves, and nBackfill moves
  // only up to what every reader's mark allows. FULL and stronger wait (busyTimeoutMs) for the
  // write lock and the readers; when they cannot get them they backfill what PASSIVE would and
  // report busy. When all is backfilled RESTART and TRUNCATE wait for WAL readers to leave, and
  // TRUNCATE resets the WAL to zero bytes. When READ_LOCK(0) cannot be had (a reader whose
  // snapshot is the database file) the checkpoint ends there, as walCheckpoint does: done, and
  // busy for FULL and stronger. A wal-index header newer than this connection's snapshot is
  // forgotten afterwards, so the next read transaction reports `changed`. A header claiming
  // more frames than the -wal holds is SQLITE_CORRUPT.
  Status checkpointStep(CheckpointMode mode, int busyTimeoutMs, int64_t frames, const File& db, uint32_t dbPageSize,
                        CheckpointProgress* out);

 private:
  Wal(std::string dbPath, uint32_t dbPageSize, ShmNode* shm, File* wal);
  enum class Attempt { kDone, kRetry };
  Status beginReadWith(bool* changed, bool useWal);
  Status tryBeginRead(bool* changed, bool useWal, Attempt* attempt);
  Status restartLog();
  void restartHeader();
  Status checkpointStepWith(CheckpointMode mode, int busyTimeoutMs, int64_t frames, const File& db, uint32_t dbPageSize,
                            CheckpointProgress* out, bool* changed);
  Status backfill(uint32_t limit, uint32_t mxPage, bool wait, int busyTimeoutMs, const File& db, uint32_t dbPageSize,
                  bool* blocked);
  Status writeIndexHeader();
  Status readIndexHeader(bool* changed);
  bool tryIndexHeader(bool* changed);
  Status recover();
  Status appendIndex(uint32_t frame, uint32_t page);
  uint8_t* region0() const { return region0_; }

  const std::string dbPath_;
  const uint32_t dbPageSize_;
  ShmNode* const shm_;   // process-wide; detached in the destructor
  File* const wal_;      // from the registry
  FileRef walRef_;       // releases wal_ when the Wal goes
  ShmLocks locks_;
  uint8_t* region0_ = nullptr;  // mapped header region, once it exists

  WalIndexHeader header_;  // the snapshot (valid while reading)
  bool haveHeader_ = false;
  uint32_t walPageSize_ = 0;
  int readLock_ = -1;      // -1: no read transaction
  uint32_t minFrame_ = 0;
  // Write-transaction state: frames appended after header_.mxFrame, and the running checksum.
  uint32_t lastFrame_ = 0;
  WalChecksum running_;
  bool restartedSalts_ = false;  // walRestartHdr picked new salts for the next WAL header
  uint32_t checkpointSequence_ = 0;
  bool deleteShm_ = false;
};

}  // namespace litevault
