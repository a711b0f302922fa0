// Connection: a Pager together with the mutex that serializes every use of it.
//
// A JavaScript Database handle owns one through a shared_ptr, and so does every Backup that reads
// from or writes to it, so the Pager outlives whichever of them goes last. Whoever calls into the
// Pager holds `mutex` for the whole call; a backup step holds both of its connections' mutexes
// (taken together with std::lock, so two backups in opposite directions cannot deadlock).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "pager/pager.h"

namespace litevault {

struct Connection {
  explicit Connection(std::unique_ptr<Pager> p) : pager(std::move(p)) {}

  std::mutex mutex;
  // Guarded by mutex. Reset by close(), which refuses while `backups` is non-zero, so a Backup
  // never sees it null.
  std::unique_ptr<Pager> pager;
  // Atomics, so that creating a backup (on the main thread) never waits for a step in flight.
  std::atomic<bool> closed{false};
  // True while an unfinished backup writes into this connection: no second backup may target it.
  std::atomic<bool> backupDestination{false};
  // Unfinished backups that use this connection, as source or destination.
  std::atomic<int> backups{0};
  // Snapshot backups holding a read transaction on this connection between steps: while
  // non-zero it cannot become a backup's destination ("destination database is in use").
  std::atomic<int> pinnedReads{0};
};

}  // namespace litevault
