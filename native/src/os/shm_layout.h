// Where SQLite's unix VFS puts its locks in a -shm file, and the size of the regions it maps
// (os_unix.c: UNIX_SHM_BASE, UNIX_SHM_DMS; the region size is wal.c's WALINDEX_PGSZ, which
// wal.c passes to xShmMap). These are the os layer's own facts, as in SQLite; format/wal_index.h
// describes what is stored in the regions, and wal/wal.h checks that both agree on the size.
//
// Thread safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace litevault {

// Bytes 120..127 are the eight WAL locks (write, checkpoint, recover, read 0..4), never read or
// written as data; byte 128 is the dead-man switch (DMS) lock.
constexpr uint64_t kShmLockBase = 120;  // UNIX_SHM_BASE = (22 + SQLITE_SHM_NLOCK) * 4
constexpr int kShmLockCount = 8;        // SQLITE_SHM_NLOCK
constexpr uint64_t kShmDmsByte = 128;   // UNIX_SHM_DMS = UNIX_SHM_BASE + SQLITE_SHM_NLOCK
// The -shm is mapped in regions of this many bytes.
constexpr size_t kShmRegionSize = 32768;

static_assert(kShmDmsByte == kShmLockBase + kShmLockCount, "the DMS byte follows the eight lock bytes");

}  // namespace litevault
