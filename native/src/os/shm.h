// The -shm file: mapping its 32 KiB regions, the DMS protocol and the eight WAL lock bytes
// (reference §5, §6.1; os_unix.c unixOpenSharedMemory, unixLockSharedMemory, unixShmMap,
// unixShmLock, unixShmBarrier).
//
// ShmNode is per -shm inode and per process, like SQLite's unixShmNode: it owns the registered
// descriptor (parked, os/file.h), the mapped regions, the DMS read lock (taken when the
// first of our connections attaches, released when the last detaches), and the in-process
// counts that arbitrate the lock bytes between our connections, which share one open file
// description and so cannot conflict in the kernel:
//   lockCount[i] > 0   that many of our connections hold lock i shared
//   lockCount[i] == -1 one of our connections holds lock i exclusively
// ShmLocks is one connection's view: which of the eight locks it holds and how.
//
// DMS (byte 128) on attach: if nobody holds it, we are the first user anywhere: write-lock it,
// truncate the file to 3 bytes (every region reads as "never initialized", so the first reader
// runs recovery), then downgrade to a read lock. If somebody write-locks it, they are
// initializing: SQLITE_BUSY. If others read-lock it, read-lock it too.
//
// Regions are mapped MAP_SHARED read-write and stay mapped while any connection is attached,
// in groups spanning whole OS pages (sysconf(_SC_PAGESIZE); unixShmRegionPerMap), so 64 KiB-page
// kernels map two regions at a time at page-aligned offsets.
// DMS: a WRITE-held DMS (someone initializing) is SQLITE_BUSY, as in unixLockSharedMemory.
// A region beyond the end of the file is mapped only with `extend` (the WRITE lock holder or a
// recovering reader), which grows the file first.
//
// Lifetime: a node holds one registry reference to its file and lives as long as the process,
// unless its last attachment detaches with deleteFile (the last-close rule), which unlinks the
// -shm, frees the node and releases the file. The map of nodes is guarded by a process mutex
// held across attach() and detach(), so no attach can find a node being freed.
//
// Thread safety: all ShmNode state is guarded by its mutex; a ShmLocks belongs to one connection
// and is used by one thread at a time.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "os/file.h"
#include "os/shm_layout.h"

namespace litevault {

class ShmNode {
 public:
  // Attaches to <dbPath>-shm (creating it with mode 0644 & ~umask if missing) and runs the DMS
  // protocol when this is the process's first attachment. Errors: SQLITE_BUSY (being
  // initialized), SQLITE_READONLY_CANTINIT (read-only -shm), SQLITE_CANTOPEN, SQLITE_IOERR_SHM*.
  static Status attach(const std::string& dbPath, ShmNode** out);
  // Drops one attachment; the last one unmaps the regions and releases the DMS lock. With
  // deleteFile (the last-close rule, wal.h deleteShmOnDetach) the last one also deletes the -shm,
  // forgets this node and releases its file (which the registry then closes: nobody can reach
  // it any more). The node must not be used after a deleting detach.
  void detach(bool deleteFile = false);

  // Maps region `region`; *out is null when it lies past the end of the file and !extend.
  Status region(uint32_t region, bool extend, uint8_t** out);

  // SQLite's shm barrier: a full memory fence plus a process-wide mutex round trip.
  static void barrier();

  const std::string& path() const { return file_->path(); }

 private:
  friend class ShmLocks;
  explicit ShmNode(File* file) : file_(file) {}

  File* const file_;
  std::mutex mutex_;
  int attachments_ = 0;            // guarded by mutex_
  // Guarded by mutex_. Mapped in groups of regionsPerMap(): regions_[k * perMap] is the base of
  // one mmap of perMap regions, and the other entries of the group point into it.
  std::vector<uint8_t*> regions_;
  int lockCount_[8] = {};          // guarded by mutex_
};

class ShmLocks {
 public:
  explicit ShmLocks(ShmNode& node) : node_(node) {}
  ~ShmLocks() { releaseAll(); }
  ShmLocks(const ShmLocks&) = delete;
  ShmLocks& operator=(const ShmLocks&) = delete;

  // Locks [first, first+count) of the eight lock bytes, shared (count must be 1) or exclusive.
  // One attempt: SQLITE_BUSY when another connection (ours or anyone's) conflicts.
  // Rule (unixShmLock): an exclusive request for a byte that this same connection holds shared
  // is SQLITE_BUSY too; a shared lock is never upgraded, so no exclusive lock-then-unlock can
  // silently drop a read lock (a pinned snapshot's READ_LOCK(i)). A shared request for a byte
  // this connection already holds (either way) is a no-op.
  Status lock(int first, int count, bool exclusive);
  Status unlock(int first, int count, bool exclusive);
  void releaseAll();

  bool holdsShared(int i) const { return (sharedMask_ >> i) & 1; }
  bool holdsExclusive(int i) const { return (exclusiveMask_ >> i) & 1; }

 private:
  ShmNode& node_;
  uint8_t sharedMask_ = 0;
  uint8_t exclusiveMask_ = 0;
};

}  // namespace litevault
