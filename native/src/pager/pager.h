// Pager: one connection's view of a rollback-journal database file (reference §1, §2, §12.6).
//
// A Pager reads pages inside a read transaction and writes them inside a write transaction, with
// SQLite's locks (os/db_lock.h) and SQLite's rollback journal, so that it is a correct peer of
// real SQLite in other processes and in this one.
//
//   beginRead   one attempt at SHARED, then the hot-journal check: a journal whose first byte is
//               non-zero while nobody holds RESERVED is played back under EXCLUSIVE taken straight
//               from SHARED (one attempt), synced and deleted, as sqlite3PagerSharedLock does.
//               Any BUSY on the way drops every lock (back to NONE) and the whole sequence is
//               retried by the busy handler, as btree.c's lockBtree loop does: a connection never
//               waits for a lock while it holds SHARED, so two waiters cannot wait each other out.
//               Then the file size and page 1 are read (in WAL mode only after the WAL read lock
//               is held, as lockBtree reads them), and view() identifies the version seen.
//   beginWrite  from a read transaction: RESERVED by one attempt (BUSY at once, as SQLite does
//               inside a read transaction), then EXCLUSIVE, waiting (pager_wait_on_lock);
//               creates <db>-journal. beginWriteTransaction() starts from no transaction and
//               retries read + RESERVED as a whole, dropping SHARED between attempts.
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
// Paths: the pager works on canonicalPath(path) (os/file.h), so its journal, -wal and -shm are
// the ones SQLite uses beside the real file, whatever symlinks or relative path the caller gave.
//
// Stale companions (pager.c hasHotJournal, pagerOpenWalIfPresent): beside a 0-page database a
// journal or a -wal belongs to a database that no longer exists; a writable pager deletes them
// under RESERVED (one attempt; if someone holds RESERVED they stay, and are ignored). A 0-byte
// -wal is treated as absent (unixAccess), so it never makes a rollback database a WAL one.
//
// Last close (sqlite3WalClose): a WAL pager that committed a write transaction, when destroyed,
// takes EXCLUSIVE on the database file by one attempt (which succeeds only if no other
// connection, ours or anyone's, has the database open: every WAL connection holds SHARED); if it
// gets it, it checkpoints every frame and deletes the -shm and the -wal, so a backup written
// into a WAL destination nobody else uses ends self-contained, as SQLite's last closer leaves
// it. A pager that only read never does this: litevault never rewrites a source it was asked
// only to read (SQLite's own last reader would; that is the one deliberate difference).
//
// WAL databases (bytes 18/19 = 2, or a -wal file beside a non-empty database): beginRead also
// joins the WAL (wal/wal.h) and starts a WAL read transaction, whose snapshot then decides
// every page read (the newest frame at or below it, else the database file), the page count
// and view() (the wal-index header). As SQLite does, a WAL pager keeps its SHARED lock
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
  // Create the file, which must not exist, as a private 0600 file (os/file.h createPrivateFile):
  // the temporary of a new backup destination, moved into place with publishPrivateFile().
  bool createPrivate = false;
  int busyTimeoutMs = 5000;  // how long lock requests wait before SQLITE_BUSY
};

// What identifies the version of the database one read transaction sees. Rollback mode: bytes
// 24..39 of the file (the change counter moves with every commit); WAL mode: the wal-index
// header (it moves with every commit and every WAL restart). Equal signatures mean equal
// content. Every user that keeps pages across transactions (a Backup) keeps its own copy, so one
// user's read never hides a change from another (SQLite restarts every backup of a pager on
// pager_reset).
struct ViewSignature {
  bool wal = false;
  uint8_t bytes[48] = {};
  bool operator==(const ViewSignature& o) const;
  bool operator!=(const ViewSignature& o) const { return !(*this == o); }
};

class Pager {
 public:
  // Errors: SQLITE_CANTOPEN (missing without `create`, not a regular file, no permission),
  // SQLITE_READONLY (read-write requested on a file we may only read).
  static Status open(const std::string& path, const PagerOptions& options, std::unique_ptr<Pager>* out);
  ~Pager();

  // The canonical path (os/file.h canonicalPath).
  const std::string& path() const { return path_; }
  const File& file() const { return *db_; }
  bool readOnly() const { return options_.readOnly; }
  void setBusyTimeout(int ms) { options_.busyTimeoutMs = ms; }
  int busyTimeout() const { return options_.busyTimeoutMs; }

  enum class State { kNone, kReading, kWriting };
  State state() const { return state_; }

  // Errors: SQLITE_BUSY (after the busy timeout), SQLITE_READONLY_ROLLBACK (hot journal on a
  // read-only pager), SQLITE_NOTADB / SQLITE_CORRUPT (bad header), I/O errors.
  Status beginRead();
  Status endRead();
  // Valid inside a transaction: the version of the database it sees.
  const ViewSignature& view() const { return view_; }

  // Valid inside a transaction. An empty (0-byte) database has pageCount 0 and pageSize 0.
  uint32_t pageSize() const { return pageSize_; }
  uint32_t pageCount() const { return pageCount_; }
  bool isWal() const { return isWal_; }
  const DbHeader& header() const { return header_; }

  // Reads `count` whole pages from `first` (1-based): from the WAL snapshot where it has them,
  // from the file otherwise (one pread per run of file pages); bytes past the end read as zero.
  Status readPages(uint32_t first, uint32_t count, uint8_t* out);

  // readPages() in two halves, so that other threads can do the reading: planRead() (this
  // pager's thread, inside a read transaction) says where each page of the range lives;
  // readPlanned() only preads, so any thread may run it, concurrently with others, for as long
  // as that read transaction stays open.
  struct ReadPiece {
    uint32_t page;   // first page of the piece
    uint32_t count;  // pages
    uint32_t frame;  // 0: `count` pages of the database file; else the WAL frame of one page
  };
  Status planRead(uint32_t first, uint32_t count, std::vector<ReadPiece>* plan);
  Status readPlanned(const std::vector<ReadPiece>& plan, uint32_t first, uint8_t* out) const;
  // The planned pages written to descriptor `fd` in order instead (os/out_fd.h): file runs by
  // sendfile, WAL frames through `scratch` (one page). `what` names fd in messages.
  Status sendPlanned(const std::vector<ReadPiece>& plan, int fd, uint8_t* scratch, const std::string& what) const;

  // The WAL, once a read found the database in WAL mode (null before, and for rollback mode).
  Wal* wal() const { return wal_.get(); }

  // For checkpoints: outside any transaction, takes SHARED (waiting), reads the header and, for a
  // WAL database, joins the WAL (keeping SHARED, as every WAL connection does). *isWal is false
  // for a rollback-journal database, whose SHARED lock is then released again.
  Status joinWal(bool* isWal);

  // From a read transaction. Errors: SQLITE_BUSY (RESERVED or the WAL write lock is held by
  // another connection: at once; EXCLUSIVE: after the busy timeout), SQLITE_BUSY_SNAPSHOT,
  // SQLITE_READONLY, I/O errors.
  Status beginWrite();
  // From no transaction: a read transaction and beginWrite(), retried together (with every lock
  // dropped between attempts) for up to the busy timeout, as sqlite3BtreeBeginTrans does.
  Status beginWriteTransaction();
  // Rollback mode: journals (and seals) the originals of [offset, offset + n) now, so that
  // writeBytes() and copyBytesFrom() inside that range seal nothing more (a range written in
  // pieces then costs one journal segment, not one per piece). A WAL database: nothing to do.
  Status prepareWrite(uint64_t offset, size_t n);
  // Writes n bytes at offset (anywhere but the lock-byte range), journaling first.
  Status writeBytes(uint64_t offset, const uint8_t* data, size_t n);
  // writeBytes() of the n bytes `from` holds at fromOffset, moved by the kernel
  // (File::copyFrom), with the same journaling first. Rollback-journal databases only (a WAL
  // writes frames); *copied < n where the kernel stopped or refused (*refused), and the caller
  // writes the rest with writeBytes().
  Status copyBytesFrom(uint64_t offset, const File& from, uint64_t fromOffset, size_t n, size_t* copied, bool* refused);
  // Commits: the file ends at newSize bytes.
  Status commit(uint64_t newSize);
  // For this write transaction: page 1 is a cksumvfs page of `pageSize` bytes (its last 8
  // bytes a checksum of the rest, verify/cksumvfs.h), so commit() stamps its checksum again
  // after the header changes it makes (as cksumvfs stamps every page SQLite writes through it).
  void stampCksumvfsPage1AtCommit(uint32_t pageSize) { stampCksumvfsPageSize_ = pageSize; }
  Status rollback();

  // Size of the database file and of its pages as they were when the write transaction began.
  uint32_t originalPageCount() const { return originalPageCount_; }

 private:
  Pager(std::string path, const PagerOptions& options, File* db, std::unique_ptr<File> owned);

  Status lockWaiting(DbLockLevel level);
  Status tryBeginRead();
  Status tryBeginWrite();
  Status readHeader();
  Status removeStaleCompanions();
  Status beginWalRead();
  void closeWal();
  Status readFilePages(uint32_t first, uint32_t count, uint8_t* out) const;
  Status hasHotJournal(bool* hot);
  Status rollBackHotJournal();
  Status journalOriginals(uint64_t offset, size_t n);
  Status beforeFileWrite(uint64_t offset, size_t n);
  Status sealSegment();
  Status finishJournal();
  Status writeWalBytes(uint64_t offset, const uint8_t* data, size_t n);

  const std::string path_;
  const std::string journalPath_;
  PagerOptions options_;
  std::unique_ptr<File> owned_;  // a private file (createPrivate), else null
  File* const db_;  // from the registry, or owned_
  FileRef dbRef_;   // releases a registry db_ after lock_ (declared later, destroyed first) has unlocked
  DbLock lock_;
  State state_ = State::kNone;

  // Read-transaction state.
  ViewSignature view_;
  DbHeader header_;
  uint32_t pageSize_ = 0;
  uint32_t pageCount_ = 0;
  uint64_t fileSize_ = 0;
  bool isWal_ = false;
  std::unique_ptr<Wal> wal_;  // joined on the first read that finds WAL mode; keeps SHARED held
  bool committedWal_ = false;  // a WAL write transaction committed: the last-close rule applies

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
  uint32_t stampCksumvfsPageSize_ = 0;  // stampCksumvfsPage1AtCommit; 0: no
  std::vector<uint8_t> walPage1_;  // WAL mode: page 1 as it will be committed (empty: untouched)
  std::vector<ReadPiece> plan_;    // readPages() scratch: capacity kept between calls
};

}  // namespace litevault
