// Pager: one connection's view of a rollback-journal database file (reference §1, §2, §12.6).
//
// A Pager reads pages inside a read transaction and writes them inside a write transaction, with
// SQLite's locks (os/db_lock.h) and SQLite's rollback journal, so that it is a correct peer of
// real SQLite in other processes and in this one.
//
//   beginRead   SHARED (waiting up to busyTimeoutMs), then the hot-journal check: a journal
//               whose first byte is non-zero while nobody holds RESERVED is played back under
//               EXCLUSIVE taken straight from SHARED, synced and deleted, as sqlite3PagerSharedLock
//               does. Then bytes 24..39 are compared with the last transaction's copy:
//               `changed` tells the caller to drop what it read before (a backup restarts).
//   beginWrite  RESERVED then EXCLUSIVE (both waiting up to the timeout); creates <db>-journal.
//   writeBytes  before any byte of an original page (page <= original size) changes, that page's
//               original content is appended to the journal; the journal segment is synced, sealed
//               with its magic and synced again before the database is written. So a crash at any
//               instant leaves either the old database (the journal is hot) or the new one.
//   commit      change counter = old + 1 at 24 and 92, sync the database, delete the journal (the
//               commit point), then truncate to the new size (as pager_end_transaction does:
//               the journal holds only overwritten pages, so cutting earlier would lose pages a
//               rollback needs), back to SHARED.
//   rollback    play our own journal back, delete it, back to SHARED.
// In WAL mode beginWrite takes the WAL write lock instead, writeBytes appends frames, commit
// appends page 1 as the commit frame (wal/wal.h), and rollback forgets the uncommitted frames.
//   endRead     back to NONE.
//
// Invariants: the lock-byte page (file bytes 0x40000000..+511) is never written; a journal page
// record is on disk and sealed before the page it protects is overwritten; the database is synced
// before the journal is deleted.
//
// WAL databases (bytes 18/19 = 2, or a -wal file beside a non-empty database): beginRead also
// joins the WAL (wal/wal.h) and starts a WAL read transaction, whose snapshot then decides
// every page read (the newest frame at or below it, else the database file), the page count
// and `changed` (the wal-index header moved). As SQLite does, a WAL pager keeps its SHARED lock
// on the database file from its first read until it is destroyed, so nobody can delete the
// -wal or -shm under it; endRead only ends the WAL read transaction.
//
// Thread safety: not thread-safe. One Pager belongs to one handle, whose mutex serializes calls;
// any thread may make them (the addon uses the libuv threadpool).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/db_header.h"
#include "format/journal_format.h"
#include "os/db_lock.h"
#include "os/file.h"
#include "wal/wal.h"

namespace litevault {

struct PagerOptions {
  bool readOnly = false;
  bool create = false;       // create the file (empty) if it is missing; implies read-write
  int busyTimeoutMs = 5000;  // how long lock requests wait before SQLITE_BUSY
};

class Pager {
 public:
  // Errors: SQLITE_CANTOPEN (missing without `create`, not a regular file, no permission),
  // SQLITE_READONLY (read-write requested on a file we may only read).
  static Status open(const std::string& path, const PagerOptions& options, std::unique_ptr<Pager>* out);
  ~Pager();

  const std::string& path() const { return path_; }
  const File& file() const { return *db_; }
  bool readOnly() const { return options_.readOnly; }
  void setBusyTimeout(int ms) { options_.busyTimeoutMs = ms; }

  enum class State { kNone, kReading, kWriting };
  State state() const { return state_; }

  // Errors: SQLITE_BUSY, SQLITE_READONLY_ROLLBACK (hot journal on a read-only pager),
  // SQLITE_NOTADB / SQLITE_CORRUPT (bad header), I/O errors.
  Status beginRead(bool* changed);
  Status endRead();

  // Valid inside a transaction. An empty (0-byte) database has pageCount 0 and pageSize 0.
  uint32_t pageSize() const { return pageSize_; }
  uint32_t pageCount() const { return pageCount_; }
  bool isWal() const { return isWal_; }
  const DbHeader& header() const { return header_; }

  // Reads `count` whole pages from `first` (1-based): from the WAL snapshot where it has them,
  // from the file otherwise (one pread per run of file pages); bytes past the end read as zero.
  Status readPages(uint32_t first, uint32_t count, uint8_t* out);

  // The WAL, once a read found the database in WAL mode (null before, and for rollback mode).
  Wal* wal() const { return wal_.get(); }

  // For checkpoints: outside any transaction, takes SHARED (waiting), reads the header and, for a
  // WAL database, joins the WAL (keeping SHARED, as every WAL connection does). *isWal is false
  // for a rollback-journal database, whose SHARED lock is then released again.
  Status joinWal(bool* isWal);

  // From a read transaction. Errors: SQLITE_BUSY, SQLITE_READONLY, I/O errors.
  Status beginWrite();
  // Writes n bytes at offset (anywhere but the lock-byte range), journaling first.
  Status writeBytes(uint64_t offset, const uint8_t* data, size_t n);
  // Commits: the file ends at newSize bytes.
  Status commit(uint64_t newSize);
  Status rollback();

  // Size of the database file and of its pages as they were when the write transaction began.
  uint32_t originalPageCount() const { return originalPageCount_; }

 private:
  Pager(std::string path, const PagerOptions& options, File* db);

  Status lockWaiting(DbLockLevel level);
  Status readHeader();
  Status beginWalRead(bool* changed);
  Status readFilePages(uint32_t first, uint32_t count, uint8_t* out) const;
  Status hasHotJournal(bool* hot);
  Status rollBackHotJournal();
  Status journalOriginals(uint64_t offset, size_t n);
  Status sealSegment();
  Status finishJournal();
  Status writeWalBytes(uint64_t offset, const uint8_t* data, size_t n);

  const std::string path_;
  const std::string journalPath_;
  PagerOptions options_;
  File* const db_;  // from the registry
  FileRef dbRef_;   // releases db_ after lock_ (declared later, destroyed first) has unlocked
  DbLock lock_;
  State state_ = State::kNone;

  // Read-transaction state.
  uint8_t changeBytes_[16] = {};  // bytes 24..39 as of the last read transaction
  bool haveChangeBytes_ = false;
  DbHeader header_;
  uint32_t pageSize_ = 0;
  uint32_t pageCount_ = 0;
  uint64_t fileSize_ = 0;
  bool isWal_ = false;
  std::unique_ptr<Wal> wal_;  // joined on the first read that finds WAL mode; keeps SHARED held

  // Write-transaction state. Invariant: every page p <= originalPageCount_ with
  // journaled_[p] == true has its original content in a sealed segment, or in the open segment
  // (segmentRecords_ > 0) that is sealed before the database is next written.
  std::unique_ptr<File> journal_;
  uint32_t originalPageCount_ = 0;
  uint32_t journalPageSize_ = 0;
  uint32_t originalChangeCounter_ = 0;
  std::vector<bool> journaled_;
  uint64_t journalEnd_ = 0;        // where the next byte goes
  uint64_t segmentStart_ = 0;      // offset of the open segment's header
  bool segmentOpen_ = false;       // the open segment's header is written but not sealed
  uint32_t segmentRecords_ = 0;
  uint32_t segmentChecksumInit_ = 0;
  bool anySealed_ = false;         // at least one segment is sealed (the journal is hot on crash)
  bool databaseWritten_ = false;
  std::vector<uint8_t> walPage1_;  // WAL mode: page 1 as it will be committed (empty: untouched)
};

}  // namespace litevault
