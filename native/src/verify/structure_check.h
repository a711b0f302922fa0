// StructureCheck: litevault's own structural check of a whole database, page image by page
// image, with SQLite's integrity_check rules (btree.c sqlite3BtreeIntegrityCheck, checkTreePage,
// checkList, checkPtrmap) and without SQLite.
//
// Two phases, so a backup can check the pages it copies as it copies them:
//   addPage(n, image)  any order, each page 1..pageCount once (the lock-byte page never). The
//                      single-page checks run here (btree_page.h), and the page leaves a compact
//                      summary: 24 bytes, plus 4 per child pointer, 8 per table interior key or
//                      leaf's key bounds, 12 per overflowing cell, 5 per page in auto-vacuum
//                      databases (the pointer map) — never the page itself.
//   finish(read)       follows the summaries: the freelist (trunk and leaf pages, count against
//                      header byte 36), the schema b-tree from page 1 (its records name every
//                      root page), every table and index b-tree from its root (child pointers in
//                      range, each page referenced once, page types agree within a tree and with
//                      the schema, depth equal under every interior page, at most 20 levels,
//                      no empty non-root page, rowids strictly ascending and inside the parent's
//                      dividers), overflow chains (length from the payload size), the pointer
//                      map (every entry matches the page's real parent and type), every page
//                      used exactly once or free, the lock-byte page never; the auto-vacuum
//                      header fields. Pages the first phase did not see are read through `read`,
//                      and so are the few whose bytes the summaries do not keep: freelist
//                      trunks and the schema's leaves and overflow pages (pagesToRead() lists
//                      them, for a caller that must fetch them ahead). A damaged page keeps
//                      its first problem's message (only damaged pages keep one).
// With cksumvfs checksums (cksumvfs.h) every page's checksum is verified too: always when
// asked, and by default when the header says 8 reserved bytes and at least one page's checksum
// matches (so a database that merely reserves 8 bytes is not called corrupt).
//
// A finding names the page (a pointer past the database's end: the page holding it), the structure ("header", "freelist", "tree 5", "pointer map",
// "page map", "schema", "cksumvfs") and what is wrong, in integrity_check's words where it has
// them. Pure code (no I/O but the caller's `read`), safe to fuzz.
//
// Thread safety: one thread at a time (the owner's; a backup step holds its mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "verify/btree_page.h"

namespace litevault {

class StructureCheck {
 public:
  enum class Cksumvfs { kAuto, kOn, kOff };
  struct Options {
    uint32_t maxFindings = 100;  // findings kept (all are counted: the check never stops early)
    Cksumvfs cksumvfs = Cksumvfs::kAuto;
  };
  struct Finding {
    uint32_t page = 0;  // 0: the database as a whole
    std::string structure;
    std::string message;
  };
  struct Report {
    std::vector<Finding> findings;  // at most maxFindings, first found first
    uint64_t findingCount = 0;      // all of them
    uint32_t pageSize = 0;
    uint32_t pageCount = 0;
    bool cksumvfs = false;  // page checksums were verified
    bool ok() const { return findingCount == 0; }
  };
  // Reads one whole page image of the database being checked.
  using Reader = std::function<Status(uint32_t page, uint8_t* out)>;

  // `page1`: page 1 as the database has it (pageSize bytes, a header decodeDbHeader accepted);
  // `pageCount`: the database's size in pages (countPages). No I/O.
  StructureCheck(const uint8_t* page1, uint32_t pageSize, uint32_t pageCount, const Options& options);
  ~StructureCheck();

  void addPage(uint32_t page, const uint8_t* image);
  // After EVERY page was added: every page finish() will ask `read` for, ascending (with pages
  // left out, finish() reads those and may follow pointers in them to pages not listed).
  std::vector<uint32_t> pagesToRead() const;
  // Ok unless `read` failed (its Status); the verdict is in `out`.
  Status finish(const Reader& read, Report* out);
  // SQLITE_CORRUPT naming `what` (the database) and the report's first finding.
  static Status corruption(const Report& report, const std::string& what);

  uint32_t pageCount() const { return pageCount_; }

 private:
  enum State : uint8_t { kNotAdded, kGood, kBad, kNotBtree, kPtrmap };
  struct PageInfo {
    uint32_t next = 0;        // bytes 0..3: an overflow or trunk page's next pointer
    uint32_t childStart = 0;  // into children_: cells + 1 entries (interior pages)
    uint32_t keyStart = 0;    // into keys_: table interior: every rowid; table leaf: first, last
    uint32_t overflowStart = 0;  // into overflows_
    uint16_t cells = 0;
    uint16_t overflows = 0;
    uint8_t flag = 0;
    State state = kNotAdded;
  };
  struct Bounds {  // table b-trees: keys in (lo, hi]; dividers in (lo, hi)
    int64_t lo = 0, hi = 0;
    bool hasLo = false, hasHi = false;
  };
  struct Root {
    uint32_t page;
    int family;  // 1 table, 2 index, 0 either
    std::string name;
  };

  // Where a finding is, for its structure name and integrity_check's message prefix; strings
  // are made only when a finding is.
  struct Where {
    enum Kind { kFreelist, kRoot, kPage, kCell, kRightChild } kind;
    uint32_t root, page, cell;
    std::string structure() const;
    std::string prefix() const;
  };

  void add(uint32_t page, const std::string& structure, const std::string& message);
  void add(const Where& where, uint32_t page, const std::string& message);
  bool isPtrmapPage(uint32_t page) const;
  uint32_t ptrmapPageOf(uint32_t page) const;
  bool checkRef(uint32_t page, const Where& where);
  void checkPtrmap(uint32_t child, uint8_t type, uint32_t parent, const Where& where);
  Status checkFreelist(const Reader& read);
  void checkOverflow(uint32_t first, uint32_t expected, const Where& where);
  Status walk(const Reader& read, uint32_t page, const Where& from, const Bounds& bounds, uint32_t level, int family,
              uint32_t root, int* height);
  Status readSchema(const Reader& read, std::vector<Root>* roots);
  Status readPayload(const Reader& read, const uint8_t* page, const CellInfo& cell, std::vector<uint8_t>* out);
  uint32_t schemaChainPages(uint32_t chainPages) const;

  const Options options_;
  const uint32_t pageSize_;
  const uint32_t pageCount_;
  const PageGeometry geometry_;
  std::vector<uint8_t> page1_;
  bool autoVacuum_ = false;
  uint32_t lockPage_ = 0;
  bool cksumvfsPossible_ = false;  // 8 reserved bytes (or asked for)

  std::vector<PageInfo> pages_;  // by page number
  std::vector<uint32_t> children_;
  std::vector<int64_t> keys_;
  std::vector<BtreePageFacts::Overflow> overflows_;
  std::unordered_map<uint32_t, std::string> damage_;  // kBad pages: their first problem (the first 10000)
  std::vector<uint8_t> ptrType_;     // auto-vacuum: the pointer-map entry of each page
  std::vector<uint32_t> ptrParent_;
  std::vector<uint64_t> referenced_;  // bit per page (finish)
  std::vector<uint32_t> schemaLeaves_;  // tree 1's leaves in key order (finish)
  uint32_t schemaReads_ = 0;            // overflow pages readPayload read (finish)
  uint64_t cksumMatches_ = 0;
  std::vector<uint32_t> cksumMismatches_;  // the first maxFindings
  uint64_t cksumMismatchCount_ = 0;
  BtreePageFacts facts_;  // scratch for addPage
  std::vector<Finding> findings_;
  uint64_t findingCount_ = 0;
};

}  // namespace litevault
