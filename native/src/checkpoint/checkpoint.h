// Checkpoint: sqlite3_wal_checkpoint_v2 as a stepped handle over a Connection (reference §7;
// design.md "Checkpoint").
//
//   create   no I/O; mode PASSIVE, FULL, RESTART or TRUNCATE, and the busy timeout that FULL and
//            stronger wait with.
//   step(n)  the first step takes the checkpoint lock (SQLITE_BUSY at once if another
//            checkpointer has it: the result is then busy with log = checkpointed = -1, as
//            PRAGMA wal_checkpoint reports). Each step backfills up to n more frames (n < 0:
//            all) durably: frames synced in the WAL, pages written, the database synced, then
//            nBackfill moved, so a crash between steps loses nothing and readers stay correct.
//            FULL and stronger hold the writer lock only during a step. The last step of
//            RESTART/TRUNCATE waits for WAL readers to leave (TRUNCATE empties the -wal).
//            For a database not in WAL mode: done at once, busy 0, log = checkpointed = -1.
//            A step on a handle with an open transaction (a snapshot backup pins a read
//            transaction on it, or a backup writes into it) is SQLITE_LOCKED, every time, as
//            sqlite3BtreeCheckpoint does; the handle stays usable.
//   finish   releases the locks; harmless to call twice.
//
// Thread safety: step() and finish() may be called from any thread; a mutex serializes them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "base/status.h"
#include "pager/connection.h"
#include "wal/wal.h"

namespace litevault {

class Checkpoint {
 public:
  struct Result {
    bool done = false;
    bool busy = false;
    int64_t log = -1;
    int64_t checkpointed = -1;
  };

  Checkpoint(std::shared_ptr<Connection> connection, Wal::CheckpointMode mode, int busyTimeoutMs)
      : connection_(std::move(connection)), mode_(mode), busyTimeoutMs_(busyTimeoutMs) {}
  ~Checkpoint() { finish(); }

  Status step(int64_t frames, Result* out);
  Status finish();

 private:
  const std::shared_ptr<Connection> connection_;
  const Wal::CheckpointMode mode_;
  const int busyTimeoutMs_;
  std::mutex mutex_;
  bool holdsLock_ = false;  // guarded by mutex_: we hold the checkpoint lock
  bool done_ = false;       // guarded by mutex_
  Result last_;             // guarded by mutex_
};

}  // namespace litevault
