// inspect: what SQLite would report about a database's header, without opening a connection.
//
// Reads the 100-byte header of page 1 and, when a -wal file exists beside the database, walks
// it as SQLite's recovery does (wal/wal_scan.h). When the WAL holds a committed copy of page 1,
// the header is taken from the newest one, because that is the page 1 a new SQLite reader sees;
// the page count follows lockBtree: the in-header size when valid, else the file's (or the WAL
// commit's) size, and SQLITE_CORRUPT when a valid in-header size exceeds what exists.
//
// Locks: none yet. This reads without a SHARED lock or a WAL read mark, so a value can be
// mid-commit while another process writes; the pager (rollback journal) and the wal-index reader
// make it a proper read transaction. Paths are canonical (os/file.h canonicalPath); files are
// opened through the process registry (parked afterwards, os/file.h), and never written.
//
// Thread safety: a plain function; call it from any thread (the addon runs it on the threadpool).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "format/db_header.h"
#include "format/wal_index.h"
#include "wal/wal_scan.h"

namespace litevault {

struct DatabaseInfo {
  std::string path;
  uint64_t fileSize = 0;
  bool empty = false;          // a 0-byte file: SQLite treats it as a database with no pages
  DbHeader header;             // page 1 as a new SQLite reader sees it (unset when empty)
  bool headerFromWal = false;  // header came from the newest committed WAL frame of page 1
  uint32_t pageCount = 0;      // SQLite's page count (PRAGMA page_count)
  bool walExists = false;      // a <db>-wal file is present
  WalScan wal;                 // its recovery walk (empty when absent)
  // The -shm as it stands (read, never mapped, locked or created): valid when both header
  // copies agree and the checksum holds.
  bool shmExists = false;
  bool shmHeaderValid = false;
  WalIndexHeader shmHeader;
  uint32_t nBackfill = 0;
  uint32_t nBackfillAttempted = 0;
  uint32_t readMarks[kWalReaders] = {};
};

// Errors: SQLITE_CANTOPEN (missing, unreadable, not a regular file; _ISDIR for a directory),
// SQLITE_NOTADB (not a SQLite database), SQLITE_CORRUPT (truncated header, or a header that
// claims more pages than exist), SQLITE_IOERR_* from the reads.
Status inspectDatabase(const std::string& path, DatabaseInfo* out);

}  // namespace litevault
