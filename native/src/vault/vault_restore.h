// VaultRestore: rebuilds the state of one backup (docs/vault-format.md "Restore") into a new
// private file, from the packs its chain names.
//
//   create     no I/O: decodes nothing itself; takes the chain's decoded manifests (FULL FIRST,
//              the backup to restore last) and each link's pack keys, and builds the plan
//              (page_state.h): for every page 1..pageCount the newest link whose runs list it.
//              packsNeeded() lists every (link, pack) that supplies a page of the plan, ordered
//              by the first page it supplies (file order).
//   open       creates the temporary as a private 0600 file (O_EXCL; os/file.h createPrivateFile).
//   writePack  verifies the object (its checksum is its key; header: page size and slot count
//              as the manifest says; payload decompressed with bounds, compress.h), every page
//              this pack supplies against its manifest hash, then pwrites them: consecutive pages
//              in consecutive slots go out in one pwrite (a full backup's pack is usually one).
//              Nothing is written unless every page of the pack checks out. Two writePack calls
//              for different packs may run at once (each has its own buffer and decompressor;
//              they write disjoint pages).
//   applySegment  (restore to a transaction: docs/vault-format.md "Logs") after every planned
//              pack was written and before finish(): decodes and verifies a log segment
//              (vault/log_segment.h) against its key, then applies, in txid order, each record
//              with afterTxid < txid <= uptoTxid: pwrites its page images (pages past the
//              record's page count are skipped; the lock-byte page never appears) and, when the
//              record's page count is below what the file may hold, cuts the file there (so
//              the file never keeps bytes of a page the database gave up: growing again, SQLite
//              writes every new page, and any it did not would read as zeros). The applied records must be consecutive: the first applied
//              txid is afterTxid + 1 on the first call that applies any, then the last applied
//              + 1 (else LITEVAULT_VAULT_CORRUPT "transaction N missing"). The segment's page
//              size must be the backup's. Nothing is written unless the whole segment verifies.
//              pageCount() is then the last applied record's page count.
//   finish     every planned pack was written, the file is exactly pageCount() x pageSize bytes
//              (cut or extended to it, its size checked), synced and closed. The caller publishes it (os/publish.h via binding.publish) or
//              copies it in through the backup writer.
//   abort      closes and unlinks the temporary; idempotent.
// Check mode (vault verify: the backup rebuilt in memory, nothing written): openCheck() instead
// of open(); writePack then hands every verified page to a structure check
// (verify/structure_check.h) instead of the file, the pack supplying page 1 first (packsNeeded()
// order). Once every pack was written, packsForCheck() lists the packs holding the few pages the
// check's second phase reads again (freelist trunks, the schema's pages); writing those again
// keeps just those pages, and finishCheck() gives the verdict. finish() is not called.
//
// Mismatches are LITEVAULT_VAULT_CORRUPT "backup <label>: pack <key>: page <n>: <what>" (or
// without the page when the object itself is bad).
//
// Thread safety: any thread. writePack may run on several threads at once; open, applySegment,
// finish and abort wait for writePack calls in flight (a shared mutex) and exclude each other
// (applySegment decodes the segment before it takes the mutex). pageCount() and pageSize() may
// be read at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "os/file.h"
#include "vault/compress.h"
#include "vault/log_segment.h"
#include "vault/page_state.h"
#include "vault/vault_format.h"
#include "verify/structure_check.h"

namespace litevault {

class VaultRestore {
 public:
  struct PackNeeded {
    uint32_t link = 0;
    uint32_t pack = 0;
    std::string key;  // 32 hex
  };

  // labels[i] names chain[i] in messages; packKeys[i][j] is the key of chain[i].meta.packs[j].
  // Errors: LITEVAULT_VAULT_CORRUPT (a page found nowhere; a key that does not match the
  // manifest's meta), SQLITE_MISUSE (an empty chain, mismatched lengths).
  static Status create(std::string tempPath, std::vector<DecodedManifest> chain, std::vector<std::string> labels,
                       std::vector<std::vector<std::string>> packKeys, std::unique_ptr<VaultRestore>* out);
  ~VaultRestore();

  const std::vector<PackNeeded>& packsNeeded() const { return needed_; }
  // The backup's page count, then the last applied record's.
  uint32_t pageCount() const { return pageCount_.load(); }
  uint32_t pageSize() const { return state_.pageSize(); }

  Status open();
  Status openCheck(const StructureCheck::Options& options);
  std::vector<PackNeeded> packsForCheck();
  Status finishCheck(StructureCheck::Report* out);
  Status writePack(uint32_t link, uint32_t pack, const uint8_t* data, size_t n, uint32_t* pagesWritten);
  struct Applied {
    uint32_t transactions = 0;  // records applied by this call
    uint64_t firstTxid = 0;     // 0 when none
    uint64_t lastTxid = 0;
    uint32_t pageCount = 0;     // pageCount() after the call
  };
  Status applySegment(const uint8_t* data, size_t n, const Hash128& key, uint64_t afterTxid, uint64_t uptoTxid, Applied* out);
  Status finish();
  Status abort();

 private:
  VaultRestore() = default;
  // What one needed pack supplies: pages in page order, with their slots and hashes.
  struct Supply {
    uint32_t page;
    uint32_t slot;
  };
  struct PlannedPack {
    uint32_t link = 0;
    uint32_t pack = 0;
    Hash128 key;
    std::vector<Supply> pages;
    std::atomic<bool> written{false};
  };
  // One decompression buffer and context, lent to one writePack at a time.
  struct Workspace {
    std::vector<uint8_t> buffer;
    Decompressor decompressor;
  };
  std::unique_ptr<Workspace> takeWorkspace();
  void returnWorkspace(std::unique_ptr<Workspace> w);
  Status writeVerified(const PlannedPack& plan, const uint8_t* images, const std::string& where);
  Status checkVerified(const PlannedPack& plan, const uint8_t* images);

  std::string tempPath_;
  std::vector<std::string> labels_;
  PageState state_;
  std::vector<PackNeeded> needed_;
  std::vector<std::unique_ptr<PlannedPack>> plans_;         // in needed_ order
  std::vector<std::vector<int32_t>> planIndex_;             // [link][pack] -> index into plans_, -1: not needed
  std::vector<std::vector<uint32_t>> slotCounts_;           // [link][pack] -> meta slots

  // file_'s lifetime: writePack holds it shared for its whole call, open/finish/abort exclusive.
  std::shared_mutex fileMutex_;
  std::unique_ptr<File> file_;  // guarded by fileMutex_
  bool created_ = false;        // guarded by fileMutex_: we created tempPath_ (so abort may unlink it)
  bool finished_ = false;       // guarded by fileMutex_
  // Applied segments (guarded by fileMutex_, held exclusively by applySegment): the last applied
  // txid (0: none yet) and the pages the file may hold data in (the backup's, then grown by
  // pages written, cut by a record's smaller page count).
  uint64_t lastApplied_ = 0;
  uint32_t extentPages_ = 0;
  std::atomic<uint32_t> pageCount_{0};  // what finish() sizes the file to; written under fileMutex_
  // Check mode; guarded by checkMutex_.
  std::mutex checkMutex_;
  bool checking_ = false;
  StructureCheck::Options checkOptions_;
  std::unique_ptr<StructureCheck> check_;
  bool rereading_ = false;                                      // packsForCheck() was called
  std::unordered_map<uint32_t, std::vector<uint8_t>> kept_;     // the pages packsForCheck() wants, once written again
  std::mutex workspaceMutex_;
  std::vector<std::unique_ptr<Workspace>> workspaces_;  // guarded by workspaceMutex_
};

}  // namespace litevault
