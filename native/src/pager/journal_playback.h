// Rolling a database back from its rollback journal (reference §2.3, §2.4; pager.c
// pager_playback, pager_playback_one_page, readJournalHdr, readSuperJournal, pager_truncate).
//
// Used for a hot journal left by a crashed writer (from any SQLite), and for our own journal when
// a write transaction is abandoned. Segment by segment: stop at the first header without the
// magic or with impossible sizes (the first is read when 512 bytes are there, SQLite's own
// sector size; the rest follow the first header's sector size); the first header's original
// size truncates (or extends) the database; records are replayed until a page number of 0 or
// the lock-byte page, or the end of the file; a record for a page past the original size is
// skipped before its checksum is looked at, and a checksum mismatch ends everything. Then the
// database is synced. Finalizing the journal (deleting it) is the caller's step.
//
// Locks: the caller holds EXCLUSIVE on the database.
// Thread safety: a plain function; the caller serializes use of the files.
#pragma once

#include <string>

#include "base/status.h"
#include "os/file.h"

namespace litevault {

struct PlaybackResult {
  bool superJournalMissing = false;  // the journal names a super-journal that no longer exists:
                                     // the transaction committed, nothing was played back
  std::string superJournal;  // the existing super-journal the journal names, if any
  uint32_t pagesRestored = 0;
  uint32_t originalPageCount = 0;
};

// `databasePageSize` stands in for a header page size of 0 (journals older than SQLite 3.5.8);
// 0 reads it from the database's own header.
Status playBackJournal(const File& db, const File& journal, uint32_t databasePageSize, PlaybackResult* result);

// pager_delsuper: deletes the super-journal at superPath unless a child journal it lists still
// exists and names it. Called after a hot journal naming it was played back and deleted.
Status deleteSuperJournalIfUnused(const std::string& superPath);

}  // namespace litevault
