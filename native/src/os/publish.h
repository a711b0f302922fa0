// Publishing a new backup destination: moving a finished private file (os/file.h
// createPrivateFile) to the path the user named, so that the path either does not exist or holds
// the complete file, and no stale companion of an earlier database there can be read through it.
//
//   1. The private file gets the mode SQLite gives a new database (0644 & ~umask).
//   2. `to` is claimed: opened through the registry, created empty if missing. A non-empty file
//      there is somebody's database: SQLITE_CANTOPEN ("appeared"), nothing is changed.
//   3. SHARED, then RESERVED on it, one attempt each (os/db_lock.h). Holding RESERVED on an empty
//      database, nobody can begin writing it, and a journal or -wal beside it is stale: SQLite
//      deletes them under the same lock (hasHotJournal, pagerOpenWalIfPresent), and so do we; the
//      directory is synced, so a crash can never leave an old -wal beside the new file.
//   4. rename(from, to) replaces the empty placeholder in one step; the directory is synced.
//   5. The locks go; the placeholder's descriptor is released to the registry, which closes it
//      once nothing can reach the unlinked inode (no close() that could drop another's locks).
//   If 3 or 4 fails, a placeholder this call created (the path did not exist before) is removed
//   again while RESERVED is still held, so a failed publish leaves no empty file behind.
//
// Thread safety: a plain function; call it from any thread.
#pragma once

#include <string>

#include "base/status.h"

namespace litevault {

// Errors: SQLITE_CANTOPEN (`to` holds a database, or is being written: "appeared"; or a rename
// or mode change failed, with errno), SQLITE_IOERR_* (companion delete, directory sync).
Status publishPrivateFile(const std::string& from, const std::string& to);

}  // namespace litevault
