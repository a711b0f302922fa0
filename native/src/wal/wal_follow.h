// WalFollower: reads the transactions committed to a WAL since a position, straight from the
// -wal, for continuous replication (docs/replication.md; the contract: notes "repl-api" part A).
//
// A position is a WAL generation (salt-1, salt-2), the last shipped frame F (a commit frame, or
// 0) and the cumulative checksum after F (for F = 0 the WAL header's; unknown: recomputed).
//
// poll() takes a read transaction as walTryBeginRead with useWal = 1 does (Wal::
// beginReadThroughWal: READ_LOCK(i >= 1) with mark = mxFrame, never READ_LOCK(0)), so nobody
// can restart the WAL while it reads; it ends the read transaction before returning.
//   * same generation: frame F must still be the position's (salts, commit frame, its stored
//     checksum equal to the position's; unknown checksum: frames 1..F are re-verified from the
//     WAL header), else 'gap'. Then frames F+1..mxFrame are read in ~1 MiB preads, each checked
//     (salts, cumulative checksum from F's); a bad frame, or a chain that does not end at the
//     wal-index header's aFrameCksum, is SQLITE_CORRUPT naming the -wal.
//   * another generation: the proof of docs/replication.md "Restarts by others" (proveRestart):
//     salt-1 must be the old one + 1; frame F+1 is read (one pread), THEN frame F's header (the
//     WAL header for F = 0; LV_SYNC_POINT "wal-follow-between-frames" between the two reads);
//     F intact (old salts, the position's exact checksum) and F+1 not continuing the old chain
//     (other salts or a bad checksum under either byte order) => 'restarted', and the new
//     generation is read from its frame 1 in the same poll; anything else (F+1 continues, lies
//     past the end of the file, F overwritten or gone, unknown checksum) => 'gap'.
// Frames are grouped into transactions ending at commit frames; a transaction becomes one segment
// record (docs/vault-format.md "Segment"): the newest image of every page it wrote that lies
// within its committed page count, pages ascending. A transaction whose distinct pages x page
// size exceed maxBytes stops the poll: 'oversize', with the transactions before it.
// A generation whose WAL header is not written yet (restarted in the wal-index, no frame) has
// position (salts, 0, checksum unknown).
//
// The shipped TRUNCATE: lockForTruncate() takes CKPT (one attempt) then WRITE (waiting), then
// polls; unless the poll found everything up to mxFrame ('same' or 'restarted') both locks are
// released again. If it found no transaction past the position (everything is shipped already)
// the TRUNCATE runs at once, in the same call, and the locks are released before it returns:
// the caller never holds them across its own work for nothing. Otherwise, while WRITE is held no
// frame can be appended, so finishTruncate(apply), after the caller shipped what the poll
// returned, checks that the wal-index still ends at the polled mxFrame and runs our TRUNCATE
// checkpoint (Wal::checkpointStep: frames synced, pages written, database synced, nBackfill
// moved, readers waited for, walRestartHdr, -wal cut to 0 bytes) before releasing both locks.
// How long the caller may hold them in between is its policy (addon/wal_follower_wrap.h).
// The seed frame: still under WRITE, a truncated WAL gets one commit frame, page 1 exactly as
// the database file holds it (a transaction that changes nothing), in the generation the
// TRUNCATE announced. A SQLite connection that never restarted a WAL itself (nCkpt == 0) picks
// random salts when it writes frame 1 of an empty WAL (wal.c walFrames: "if( pWal->nCkpt==0 )
// sqlite3_randomness(8, pWal->hdr.aSalt)"), which no proof can tell from a lost generation; with
// the seed it appends frame 2 in our generation instead, and the follower continues from frame 1.
// The -wal is then one frame long instead of zero bytes.
//
// Locks: the caller keeps SHARED on the database file (as every WAL connection does) while this
// follower exists. Thread safety: not thread-safe; the owner serializes calls (one at a time,
// from any thread).
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "format/wal_format.h"
#include "format/wal_index.h"
#include "os/file.h"
#include "wal/wal.h"

namespace litevault {

struct FollowPosition {
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  uint32_t frame = 0;
  bool checksumKnown = false;
  WalChecksum checksum;
};

enum class FollowStatus { kSame, kRestarted, kGap, kOversize };

struct FollowRequest {
  bool hasPosition = false;
  FollowPosition position;
  uint64_t firstTxid = 0;
  int64_t recordedAt = 0;
  uint64_t maxBytes = 0;
  bool hold = true;  // lockForTruncate: keep the locks when there are transactions to ship
};

struct FollowResult {
  FollowStatus status = FollowStatus::kGap;
  uint32_t pageSize = 0, salt1 = 0, salt2 = 0;  // the generation in the wal-index header
  bool hasPosition = false;                       // false on a gap
  FollowPosition position;                        // after the returned transactions
  uint32_t transactions = 0;
  std::vector<uint8_t> records;                   // segment records, txids firstTxid..
  uint32_t firstFrame = 0, lastFrame = 0;         // end frames of the first / last returned one
  uint32_t mxFrame = 0, nBackfill = 0;            // what the wal-index said during the poll
};

struct TruncateResult {
  bool truncated = false;
  bool busy = false;
  uint32_t salt1 = 0, salt2 = 0;  // the generation in the wal-index header afterwards
  uint32_t frame = 0;             // truncated: the seed frame (1), or 0 when none was written
  WalChecksum checksum;           // after `frame`, when it is 1
};

class WalFollower {
 public:
  // `wal` and `db` belong to the caller's pager and outlive the follower.
  WalFollower(Wal* wal, const File* db, uint32_t dbPageSize) : wal_(wal), db_(db), dbPageSize_(dbPageSize) {}
  ~WalFollower() { releaseTruncate(); }

  // Errors: those of Wal::beginReadThroughWal, SQLITE_CORRUPT (the -wal disagrees with the
  // wal-index), I/O errors. Without a position: status 'gap' and nothing read.
  Status poll(const FollowRequest& request, FollowResult* out);

  // Errors: SQLITE_BUSY (CKPT at once, WRITE after busyTimeoutMs), and poll()'s. *locked says
  // whether CKPT and WRITE are still held (only for 'same' and 'restarted' with transactions to
  // ship, and only with request.hold: without it they are released and the transactions returned
  // as by poll()); *finished whether the TRUNCATE already ran (nothing to ship), *truncate its result.
  Status lockForTruncate(const FollowRequest& request, int busyTimeoutMs, FollowResult* out, bool* locked, bool* finished,
                         TruncateResult* truncate);
  // apply: the TRUNCATE checkpoint over the frames lockForTruncate returned; readers that do not
  // leave within busyTimeoutMs make it busy (frames stay backfilled). Releases CKPT and WRITE in
  // every case. Errors: SQLITE_MISUSE (apply without the locks), checkpoint errors.
  Status finishTruncate(bool apply, int busyTimeoutMs, TruncateResult* out);
  bool truncateLocked() const { return locked_; }
  void releaseTruncate();

 private:
  Status follow(const FollowRequest& request, FollowResult* out);
  Status resumeSame(const FollowPosition& position, FollowPosition* start, bool* ok);
  Status proveRestart(const FollowPosition& position, bool* proved);
  Status generationStart(FollowPosition* start);
  Status seed(uint32_t pageCount, TruncateResult* out);
  Status readTransactions(const FollowPosition& start, const FollowRequest& request, FollowResult* out);
  WalHeader chainHeader() const;

  Wal* const wal_;
  const File* const db_;
  const uint32_t dbPageSize_;
  bool locked_ = false;        // CKPT and WRITE held since lockForTruncate
  uint32_t lockedMxFrame_ = 0;  // what that poll read up to, in which generation
  uint8_t lockedSalt_[8] = {};
};

}  // namespace litevault
