// VaultScan: the page work of one vault backup (docs/vault-format.md): reads one consistent
// snapshot of a source database, hashes every page (XXH3-128) and puts the pages whose hash
// differs from the base state (page_state.h) into packs, which the caller stores.
//
// The source side follows backup/backup.cc's rules exactly:
//   - WAL source: snapshot mode. The first step's read transaction is held across steps until
//     every page is read, so the scan sees one WAL snapshot and never restarts (writers are not
//     blocked; checkpoints cannot pass the pinned snapshot meanwhile). The connection counts it
//     in pinnedReads while it is held between steps.
//   - rollback-journal source: restart mode. SHARED only during a step; when another connection
//     committed since the pages already read (the view signature, our own copy), the scan
//     restarts from page 1 and `restarts` counts it. After maxRestarts restarts (0: at once;
//     -1: never) the read transaction is held from that step to the end (heldLock), so a scan
//     under continuous writes always finishes.
//   - BUSY and LOCKED (the source's own handle is in another transaction) leave the scan as it
//     was: retry the step. Any other failure is sticky.
//
// The first step decodes the base chain's manifests and builds its page state (a damaged one is
// a sticky LITEVAULT_VAULT_CORRUPT or LITEVAULT_UNSUPPORTED_FORMAT). A step
// (LV_SYNC_POINT "vault-scan-step" at its start) reads up to 8 MiB of pages with 1 MiB
// preads (Pager::readPages) into one reusable buffer, skipping the lock-byte page, sets page 1's
// bytes 28..31 to the snapshot's page count (as Backup::copyPages does), hashes each page and
// keeps the changed ones in the open pack, in page-number order. Pages are read straight into
// the open pack's next slots; an unchanged page's slot is reused by the next changed one, so a
// full backup copies no page in memory. When the open pack reaches 8 MiB of page images it goes
// to the compression threads (pack_encoder.h), and the scan reads on; a step hands out at most
// one finished pack, the oldest, in submission order (waiting for it when `threads` packs are
// submitted and not yet handed out, or once every page is read: measured on 2 cores next to an
// S3 server, a deeper queue only had more packs compressing at once, for more CPU time and
// memory, not more speed). After the last page, the steps that
// are still needed to hand out the remaining packs touch no database lock; the last one says
// done. On a restart, pages already stored in this
// scan (emitted packs and the open one) are kept in a hash -> (pack, slot) map and referenced
// by the new pass, not stored again. A base of another page size than the snapshot's counts
// as empty (every page differs): TypeScript decides whether such a scan may be committed.
//
// Costs: a 9 MiB image buffer (8 MiB of slots and a 1 MiB read chunk) per pack being filled or
// compressed (at most threads + 1 of them), an output buffer of at most kMaxPackBytes per pack
// encoded and not yet handed out (at most threads) (pack_encoder.h; all of them reused, nothing zero-filled, and
// freed by finish() or close()), the caller's pack buffer per step, 28 bytes per
// page of base state, 16 bytes per listed page and per run of the table being built; no
// allocation per page. Measured (2 cores, threads 2, level 1, page cache warm): a full scan of
// the 1 GiB bench database in 1.9 s (sqlite3 .backup: 2.4 s), stored 490 MB (zstd -1 of the
// file: 848 MB); an incremental after 1% of its pages changed in 0.25 s, 5.5 MB of packs and an
// 83 KiB manifest.
//
// With `verify` (the default), every page read is also handed to a structure check
// (verify/structure_check.h) and the step that reads the last page runs its second phase on the
// source, in the same read transaction: a source that fails it is a sticky SQLITE_CORRUPT naming
// the first bad page, before the last pack is handed out, so no manifest can name this scan's
// packs. A restart starts the check over.
//
// The source connection counts the scan in `backups` until finish() or close(), so closing that
// connection fails with SQLITE_BUSY meanwhile, as it does under an unfinished Backup.
//
// Thread safety: step(), finish(), close() and the destructor may be called from any thread; a
// mutex serializes them. A step holds the source connection's mutex for its whole duration.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "pager/connection.h"
#include "pager/copy_check.h"
#include "vault/pack_encoder.h"
#include "vault/page_state.h"
#include "vault/vault_format.h"

namespace litevault {

class VaultScan {
 public:
  struct Options {
    bool compress = true;  // zstd (else raw payloads)
    int level = 1;
    int threads = 0;        // compression threads (pack_encoder.h); 0: compress on the step's thread
    int maxRestarts = -1;   // rollback sources: restarts before holding SHARED to the end; -1: never hold
    int busyTimeoutMs = 5000;
    bool verify = true;      // structure check of the pages read
  };
  enum class Mode { kUndecided, kSnapshot, kRestart };

  struct Progress {
    bool done = false;
    uint32_t pageSize = 0;
    uint32_t pageCount = 0;
    uint32_t pagesScanned = 0;  // in this pass
    uint64_t pagesStored = 0;   // all passes
    uint64_t bytesStored = 0;   // bytes of packs emitted
    uint64_t bytesRead = 0;     // all passes
    uint32_t restarts = 0;
    bool heldLock = false;
    Mode mode = Mode::kUndecided;
  };
  // A step hands out at most one pack, copied into the caller's buffer (out, outCapacity >=
  // kMaxPackBytes), so the packs a caller still stores live in buffers it recycles itself.
  struct StepResult {
    uint8_t* out = nullptr;  // in
    size_t outCapacity = 0;  // in
    Progress progress;
    size_t packBytes = 0;    // a complete pack object at out[0 .. packBytes), or 0 for none
    std::string packKey;     // its key (32 hex)
  };
  struct PackInfo {
    std::string key;
    uint64_t bytes = 0;
    uint32_t slots = 0;
  };
  struct Result {
    Progress progress;
    std::vector<uint8_t> table;  // runCount, runs, hashes (vault_format.h encodeTable)
    std::vector<PackInfo> packs;
    bool wal = false;
    uint32_t changeCounter = 0;
    uint32_t walFrame = 0;
    uint32_t walSalt1 = 0, walSalt2 = 0;  // the snapshot's WAL generation (wal-index header); 0 for rollback
    bool walChecksumKnown = false;        // walFrame > 0: the cumulative checksum after frame walFrame
    WalChecksum walChecksum;              // (the wal-index header's aFrameCksum)
    // Wall-clock ms since the epoch, rounded up, read just after the read transaction whose
    // state the table holds was opened (the final pass's first): every commit in it began earlier.
    int64_t snapshotAtMs = 0;
    std::string device, inode, path;
  };

  // No I/O. Errors: SQLITE_MISUSE (closed connection, bad options).
  // One manifest of the base chain, as stored, with its label for messages.
  struct BaseLink {
    std::vector<uint8_t> manifest;
    std::string label;
  };
  // base: the base state's chain, FULL FIRST, the base itself last; empty for a full backup.
  // It is decoded (vault_format.h) and turned into the base state (page_state.h) by the first
  // step, on the caller's thread pool, not here: 16 ms for a 1 GiB database's full manifest.
  static Status create(std::shared_ptr<Connection> source, std::vector<BaseLink> base, const Options& options,
                       std::unique_ptr<VaultScan>* out);
  ~VaultScan();

  Status step(StepResult* out);
  // Only after a step reported done. Ends the scan (every lock released).
  Status finish(Result* out);
  // Cancels: ends the read transaction; idempotent; safe at any time.
  void close();
  bool closed() const { return closed_.load(); }

 private:
  VaultScan(std::shared_ptr<Connection> source, std::vector<BaseLink> base, const Options& options);
  Status buildBase();
  Status stepLocked(Pager& src, StepResult* out);
  Status readPages(Pager& src);
  Status beginSource(Pager& src);
  void endSource(Pager& src);
  void restart();
  void startPass(uint32_t pageSize, uint32_t pageCount);
  void store(uint32_t page, const Hash128& hash, uint32_t* writeSlot);
  void addRun(uint32_t page, uint32_t pack, uint32_t slot, const Hash128& hash);
  void submitFullPack();
  void submitOpenPack(uint32_t slots);
  void deliver(PackEncoder::Encoded* encoded, StepResult* out);
  size_t bufferBytes() const { return size_t(capacity_ + chunk_) * pageSize_; }
  Progress progressLocked() const;
  void releaseLocked();

  const std::shared_ptr<Connection> source_;
  std::vector<BaseLink> baseLinks_;  // guarded by mutex_; released once base_ is built
  PageState base_;                   // guarded by mutex_; valid once baseBuilt_
  bool baseBuilt_ = false;
  const Options options_;
  std::mutex mutex_;  // serializes step/finish/close

  // Guarded by mutex_.
  Status sticky_;
  PackEncoder encoder_;
  bool encoderReady_ = false;
  uint32_t packsSubmitted_ = 0;  // packs given to encoder_; the open pack will be pack number packsSubmitted_
  Mode mode_ = Mode::kUndecided;
  bool wal_ = false;
  bool sourceOpen_ = false;   // this scan holds the source read transaction
  bool pinned_ = false;       // sourceOpen_ past a step, counted in source_->pinnedReads
  bool held_ = false;         // restart mode: the read transaction is kept to the end (heldLock)
  bool scanning_ = false;     // pages of view_ have been read in this pass
  bool scanned_ = false;      // every page of the snapshot has been read
  bool done_ = false;
  bool finished_ = false;
  bool released_ = false;     // source_->backups was decremented
  ViewSignature view_;        // the source version the pages of this pass came from
  uint32_t pageSize_ = 0;     // of this pass's snapshot (4096 for an empty database)
  uint32_t pageCount_ = 0;
  bool baseUsable_ = false;   // base_ has this pass's page size
  uint32_t next_ = 1;         // next page to read
  uint32_t pagesScanned_ = 0;
  uint32_t restarts_ = 0;
  uint64_t pagesStored_ = 0, bytesStored_ = 0, bytesRead_ = 0;
  uint32_t changeCounter_ = 0, walFrame_ = 0, walSalt1_ = 0, walSalt2_ = 0;
  WalChecksum walChecksum_;  // after walFrame_, when it is > 0
  int64_t snapshotAtMs_ = 0;  // set when a pass begins (Result::snapshotAtMs)

  CopyCheck check_;  // options_.verify: the pages of this pass (from page 1)

  uint32_t capacity_ = 0;         // slots per pack: 8 MiB of page images
  uint32_t chunk_ = 0;            // pages per read: 1 MiB
  std::unique_ptr<ByteBuffer> buffer_;  // capacity_ + chunk_ pages: the open pack's slots, then the read area
  uint32_t openSlots_ = 0;        // slots of the open pack in use (pages stored in it)
  std::vector<PackInfo> packs_;   // packs handed out, in pack-number order
  std::vector<ManifestRun> runs_;  // this pass's table
  std::vector<Hash128> hashes_;
  struct Location {
    uint32_t pack;
    uint32_t slot;
  };
  // Pages stored in earlier passes (restart mode), by hash; and those stored in this pass.
  std::unordered_map<Hash128, Location, Hash128Hasher> emitted_;
  std::vector<std::pair<Hash128, Location>> storedThisPass_;

  std::atomic<bool> closed_{false};
};

}  // namespace litevault
