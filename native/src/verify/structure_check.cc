// The whole-database structural check; see structure_check.h.
#include "verify/structure_check.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "format/byte_order.h"
#include "format/db_header.h"
#include "verify/cksumvfs.h"
#include "verify/record.h"

namespace litevault {
namespace {

// Pointer-map entry types (btreeInt.h).
constexpr uint8_t kPtrmapRootPage = 1, kPtrmapFreePage = 2, kPtrmapOverflow1 = 3, kPtrmapOverflow2 = 4,
                  kPtrmapBtree = 5;
constexpr uint32_t kMaxDepth = 20;  // BTCURSOR_MAX_DEPTH: a cursor cannot descend further
constexpr int kTable = 1, kIndex = 2;
// The schema's records are read up to this size (their type, name and root page come first; a
// longer CREATE statement is only searched for WITHOUT ROWID as far as this goes).
constexpr uint32_t kMaxSchemaRecord = 4 << 20;
// Damaged pages keep their first problem's message up to this many; later ones a generic one.
constexpr size_t kMaxDamageMessages = 10000;

std::string u(uint64_t v) { return std::to_string(v); }

bool containsIgnoringCase(const std::string& text, const char* word) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper.find(word) != std::string::npos;
}

}  // namespace

StructureCheck::StructureCheck(const uint8_t* page1, uint32_t pageSize, uint32_t pageCount, const Options& options)
    : options_(options),
      pageSize_(pageSize),
      pageCount_(pageCount),
      geometry_(PageGeometry::of(pageSize, page1[20])),
      page1_(page1, page1 + pageSize) {
  autoVacuum_ = get4(page1 + 52) != 0;
  lockPage_ = lockBytePage(pageSize);
  cksumvfsPossible_ = options.cksumvfs == Cksumvfs::kOn ||
                      (options.cksumvfs == Cksumvfs::kAuto && page1[20] == kCksumvfsReserve);
  pages_.resize(size_t(pageCount) + 1);
  if (autoVacuum_) {
    ptrType_.assign(size_t(pageCount) + 1, 0);
    ptrParent_.assign(size_t(pageCount) + 1, 0);
  }
}

StructureCheck::~StructureCheck() = default;

std::string StructureCheck::Where::structure() const {
  return kind == kFreelist ? "freelist" : "tree " + u(root);
}

// integrity_check's message prefixes ("Freelist: ", "Tree %u page %u cell %u: ", ...).
std::string StructureCheck::Where::prefix() const {
  switch (kind) {
    case kFreelist:
      return "Freelist: ";
    case kRoot:
      return "Tree " + u(root) + ": ";
    case kPage:
      return "Tree " + u(root) + " page " + u(page) + ": ";
    case kCell:
      return "Tree " + u(root) + " page " + u(page) + " cell " + u(cell) + ": ";
    case kRightChild:
      return "Tree " + u(root) + " page " + u(page) + " right child: ";
  }
  return "";
}

// A finding about a pointer beyond the database is about the page holding the pointer.
void StructureCheck::add(const Where& where, uint32_t page, const std::string& message) {
  add(page <= pageCount_ ? page : where.page, where.structure(), where.prefix() + message);
}

void StructureCheck::add(uint32_t page, const std::string& structure, const std::string& message) {
  findingCount_++;
  if (findings_.size() < options_.maxFindings) findings_.push_back(Finding{page, structure, message});
}

// ptrmapPageno (btree.c): the pointer-map page that holds `page`'s entry; 0 for pages 0 and 1.
uint32_t StructureCheck::ptrmapPageOf(uint32_t page) const {
  if (page < 2) return 0;
  const uint32_t perPage = geometry_.usableSize / 5 + 1;
  uint32_t at = (page - 2) / perPage * perPage + 2;
  if (at == lockPage_) at++;
  return at;
}

bool StructureCheck::isPtrmapPage(uint32_t page) const { return autoVacuum_ && page >= 2 && ptrmapPageOf(page) == page; }

void StructureCheck::addPage(uint32_t page, const uint8_t* image) {
  if (page == 0 || page > pageCount_ || page == lockPage_) return;
  PageInfo& info = pages_[page];
  if (info.state != kNotAdded) return;
  info.next = get4(image);
  if (cksumvfsPossible_) {
    uint8_t sum[8];
    cksumvfsCompute(image, pageSize_, sum);
    static const uint8_t kZero[8] = {0};
    if (std::memcmp(sum, image + pageSize_ - kCksumvfsReserve, kCksumvfsReserve) == 0) {
      // An all-zero page matches any all-zero reserve: it tells nothing about cksumvfs.
      if (std::memcmp(sum, kZero, sizeof(kZero)) != 0) cksumMatches_++;
    } else {
      if (cksumMismatches_.size() < options_.maxFindings) cksumMismatches_.push_back(page);
      cksumMismatchCount_++;
    }
  }
  if (isPtrmapPage(page)) {
    info.state = kPtrmap;
    const uint32_t perPage = geometry_.usableSize / 5;
    for (uint32_t i = 0; i < perPage; i++) {
      const uint64_t child = uint64_t(page) + 1 + i;
      if (child > pageCount_) break;
      ptrType_[child] = image[5 * i];
      ptrParent_[child] = get4(image + 5 * i + 1);
    }
    return;
  }
  const uint8_t flag = image[page == 1 ? 100 : 0];
  info.flag = flag;
  if (!isBtreeFlag(flag)) {
    info.state = kNotBtree;
    return;
  }
  std::string error;
  if (!checkBtreePage(geometry_, page, image, &facts_, &error)) {
    info.state = kBad;
    if (damage_.size() < kMaxDamageMessages) damage_[page] = std::move(error);
    return;
  }
  info.state = kGood;
  info.cells = static_cast<uint16_t>(facts_.cells);
  info.childStart = static_cast<uint32_t>(children_.size());
  children_.insert(children_.end(), facts_.children.begin(), facts_.children.end());
  info.keyStart = static_cast<uint32_t>(keys_.size());
  if (flag == kTableInterior) {
    keys_.insert(keys_.end(), facts_.keys.begin(), facts_.keys.end());
  } else if (flag == kTableLeaf && !facts_.keys.empty()) {
    keys_.push_back(facts_.keys.front());
    keys_.push_back(facts_.keys.back());
  }
  info.overflowStart = static_cast<uint32_t>(overflows_.size());
  info.overflows = static_cast<uint16_t>(facts_.overflows.size());
  overflows_.insert(overflows_.end(), facts_.overflows.begin(), facts_.overflows.end());
}

std::vector<uint32_t> StructureCheck::pagesToRead() const {
  std::vector<uint32_t> pages;
  std::vector<bool> seen(size_t(pageCount_) + 1, false);
  auto want = [&](uint32_t page) {
    if (page == 0 || page > pageCount_ || page == lockPage_ || seen[page]) return false;
    seen[page] = true;
    pages.push_back(page);
    return true;
  };
  for (uint32_t page = 1; page <= pageCount_; page++) {
    if (page != lockPage_ && pages_[page].state == kNotAdded) want(page);
  }
  // The freelist trunks: checkFreelist's walk (it stops where this stops).
  for (uint32_t trunk = get4(page1_.data() + 32); want(trunk);) trunk = pages_[trunk].next;
  // The schema b-tree's leaves and their overflow pages (readSchema's reads).
  std::vector<uint32_t> stack{1};
  std::vector<bool> visited(size_t(pageCount_) + 1, false);
  while (!stack.empty()) {
    const uint32_t page = stack.back();
    stack.pop_back();
    if (page == 0 || page > pageCount_ || visited[page] || pages_[page].state != kGood) continue;
    visited[page] = true;
    const PageInfo& info = pages_[page];
    if (info.flag == kTableInterior) {
      for (uint32_t i = 0; i <= info.cells; i++) stack.push_back(children_[info.childStart + i]);
    } else if (info.flag == kTableLeaf) {
      want(page);
      for (uint32_t i = 0; i < info.overflows; i++) {  // readPayload's reads, page for page
        const BtreePageFacts::Overflow& o = overflows_[info.overflowStart + i];
        uint32_t next = o.first;
        for (uint32_t hop = 0, hops = schemaChainPages(o.pages); hop < hops && next != 0 && next <= pageCount_ && next != lockPage_; hop++) {
          want(next);
          next = pages_[next].next;
        }
      }
    }
  }
  std::sort(pages.begin(), pages.end());
  return pages;
}

bool StructureCheck::checkRef(uint32_t page, const Where& where) {
  if (page == 0 || page > pageCount_) {
    add(where, page, "invalid page number " + u(page));
    return false;
  }
  uint64_t& word = referenced_[page / 64];
  const uint64_t bit = uint64_t(1) << (page % 64);
  if (word & bit) {
    add(where, page, "2nd reference to page " + u(page));
    return false;
  }
  word |= bit;
  return true;
}

void StructureCheck::checkPtrmap(uint32_t child, uint8_t type, uint32_t parent, const Where& where) {
  const uint32_t map = ptrmapPageOf(child);
  if (child < 2 || child == map || child > pageCount_ || map > pageCount_ || ptrType_[child] < 1 ||
      ptrType_[child] > 5) {
    add(child <= pageCount_ ? child : where.page, "pointer map", where.prefix() + "Failed to read ptrmap key=" + u(child));
    return;
  }
  if (ptrType_[child] != type || ptrParent_[child] != parent) {
    add(child, "pointer map",
        where.prefix() + "Bad ptr map entry key=" + u(child) + " expected=(" + u(type) + "," + u(parent) + ") got=(" +
            u(ptrType_[child]) + "," + u(ptrParent_[child]) + ")");
  }
}

// checkList(isFreeList=1)
Status StructureCheck::checkFreelist(const Reader& read) {
  uint32_t page = get4(page1_.data() + 32);
  const uint32_t expected = get4(page1_.data() + 36);
  uint32_t n = expected;
  const uint64_t before = findingCount_;
  Where where{Where::kFreelist, 0, 1, 0};  // .page: the page holding the next pointer
  std::vector<uint8_t> trunk(pageSize_);
  const uint32_t maxLeaves = geometry_.usableSize / 4 - 2;
  while (page != 0) {
    if (!checkRef(page, where)) break;
    n--;
    where.page = page;
    LV_RETURN_IF_ERROR(read(page, trunk.data()));
    const uint32_t leaves = get4(trunk.data() + 4);
    if (autoVacuum_) checkPtrmap(page, kPtrmapFreePage, 0, where);
    if (leaves > maxLeaves) {
      add(where, page, "freelist leaf count too big on page " + u(page));
      n--;
    } else {
      for (uint32_t i = 0; i < leaves; i++) {
        const uint32_t leaf = get4(trunk.data() + 8 + 4 * i);
        if (autoVacuum_) checkPtrmap(leaf, kPtrmapFreePage, 0, where);
        checkRef(leaf, where);
      }
      n -= leaves;
    }
    page = get4(trunk.data());
  }
  if (n != 0 && findingCount_ == before) {
    add(where, 0, "size is " + u(uint32_t(expected - n)) + " but should be " + u(expected));
  }
  return Status::ok();
}

// checkList(isFreeList=0): the chain must hold exactly `expected` pages.
void StructureCheck::checkOverflow(uint32_t first, uint32_t expected, const Where& where) {
  uint32_t page = first;
  uint32_t n = expected;
  const uint64_t before = findingCount_;
  while (page != 0) {
    if (!checkRef(page, where)) break;
    n--;
    const uint32_t next = pages_[page].next;
    if (autoVacuum_ && n > 0) checkPtrmap(next, kPtrmapOverflow2, page, where);
    page = next;
  }
  if (n != 0 && findingCount_ == before) {
    add(where, first, "overflow list length is " + u(uint32_t(expected - n)) + " but should be " + u(expected));
  }
}

// checkTreePage, over the summaries. `height` gets the subtree's height (0: a leaf), -1 when
// the page could not be followed.
Status StructureCheck::walk(const Reader& read, uint32_t page, const Where& from, const Bounds& bounds, uint32_t level,
                            int family, uint32_t root, int* height) {
  *height = -1;
  if (!checkRef(page, from)) return Status::ok();
  const Where here{Where::kPage, root, page, 0};
  const PageInfo& info = pages_[page];
  if (info.state == kPtrmap) {
    add(here, page, "a pointer-map page is used as a b-tree page");
    return Status::ok();
  }
  if (info.state == kNotBtree) {
    add(here, page, "btreeInitPage() returns error code 11 (page type " + u(info.flag) + ")");
    return Status::ok();
  }
  if (info.state == kBad) {
    auto it = damage_.find(page);
    add(here, page, it != damage_.end() ? it->second : "a damaged b-tree page (one of too many to describe each)");
    return Status::ok();
  }
  const bool table = isTableFlag(info.flag);
  if (family != 0 && (family == kTable) != table) {
    add(here, page, table ? "a table b-tree page in an index b-tree" : "an index b-tree page in a table b-tree");
    return Status::ok();
  }
  if (level > 0 && info.cells == 0) {
    add(here, page, "a non-root page with no cells");
    return Status::ok();
  }
  if (level >= kMaxDepth) {
    add(here, page, "the b-tree is deeper than " + u(kMaxDepth) + " levels");
    return Status::ok();
  }
  const bool leaf = isLeafFlag(info.flag);
  const int64_t* keys = keys_.data() + info.keyStart;
  if (table && info.cells > 0) {
    const int64_t first = keys[0];
    const int64_t last = leaf ? keys[1] : keys[info.cells - 1];
    if (bounds.hasLo && first <= bounds.lo) {
      add(Where{Where::kCell, root, page, 0}, page, "Rowid " + std::to_string(first) + " out of order");
    } else if (bounds.hasHi && (leaf ? last > bounds.hi : last >= bounds.hi)) {
      add(Where{Where::kCell, root, page, info.cells - 1u}, page, "Rowid " + std::to_string(last) + " out of order");
    }
  }
  for (uint32_t i = 0; i < info.overflows; i++) {
    const BtreePageFacts::Overflow& o = overflows_[info.overflowStart + i];
    const Where cell{Where::kCell, root, page, o.cell};
    if (autoVacuum_) checkPtrmap(o.first, kPtrmapOverflow1, page, cell);
    checkOverflow(o.first, o.pages, cell);
  }
  if (leaf) {
    if (root == 1) schemaLeaves_.push_back(page);
    *height = 0;
    return Status::ok();
  }
  int depth = -1;
  bool differs = false;
  for (uint32_t i = 0; i <= info.cells; i++) {
    const uint32_t child = children_[info.childStart + i];
    Bounds childBounds = bounds;
    if (table) {
      if (i > 0) {
        childBounds.lo = keys[i - 1];
        childBounds.hasLo = true;
      }
      if (i < info.cells) {
        childBounds.hi = keys[i];
        childBounds.hasHi = true;
      }
    }
    const Where pointer = i < info.cells ? Where{Where::kCell, root, page, i} : Where{Where::kRightChild, root, page, 0};
    if (autoVacuum_) checkPtrmap(child, kPtrmapBtree, page, pointer);
    int childHeight = -1;
    LV_RETURN_IF_ERROR(walk(read, child, pointer, childBounds, level + 1, table ? kTable : kIndex, root, &childHeight));
    if (childHeight < 0) continue;
    if (depth < 0) {
      depth = childHeight;
    } else if (childHeight != depth && !differs) {
      differs = true;
      add(here, page, "Child page depth differs");
    }
  }
  *height = depth < 0 ? -1 : depth + 1;
  return Status::ok();
}

// How many overflow pages readPayload reads for a schema cell (pagesToRead lists the same).
uint32_t StructureCheck::schemaChainPages(uint32_t chainPages) const {
  return std::min<uint32_t>(chainPages, kMaxSchemaRecord / (geometry_.usableSize - 4) + 1);
}

// A schema cell's payload, at most kMaxSchemaRecord bytes: its local bytes, then the overflow
// chain's as far as the chain goes (a short chain is the overflow check's finding).
Status StructureCheck::readPayload(const Reader& read, const uint8_t* page, const CellInfo& cell,
                                   std::vector<uint8_t>* out) {
  out->assign(page + cell.payloadStart, page + cell.payloadStart + cell.local);
  const uint32_t wanted = std::min(cell.payload, kMaxSchemaRecord);
  uint32_t next = cell.payload > cell.local ? cell.overflow : 0;
  std::vector<uint8_t> image(pageSize_);
  std::vector<uint32_t> seen;  // a chain that comes back to a page ends there
  const uint32_t hops = schemaChainPages(cell.overflowPages);
  for (uint32_t hop = 0; hop < hops && next != 0 && next <= pageCount_ && next != lockPage_ && out->size() < wanted; hop++) {
    // Sound schema chains are disjoint, so all of them together read each page at most once:
    // past pageCount reads in all, the rest of a damaged schema is not read.
    if (schemaReads_ >= pageCount_ || std::find(seen.begin(), seen.end(), next) != seen.end()) break;
    schemaReads_++;
    seen.push_back(next);
    LV_RETURN_IF_ERROR(read(next, image.data()));
    const size_t take = std::min<size_t>(geometry_.usableSize - 4, wanted - out->size());
    out->insert(out->end(), image.data() + 4, image.data() + 4 + take);
    next = pages_[next].next;
  }
  return Status::ok();
}

// The schema table's rows (type, name, tbl_name, rootpage, sql): every root page, and which
// kind of b-tree it must be.
Status StructureCheck::readSchema(const Reader& read, std::vector<Root>* roots) {
  const uint32_t encoding = get4(page1_.data() + 56);
  std::vector<uint8_t> image(pageSize_), payload;
  std::vector<RecordColumn> columns;
  BtreePageFacts facts;
  for (const uint32_t leafPage : schemaLeaves_) {
    LV_RETURN_IF_ERROR(read(leafPage, image.data()));
    std::string error;
    if (!checkBtreePage(geometry_, leafPage, image.data(), &facts, &error)) continue;  // reported by the walk
    const uint32_t hdr = leafPage == 1 ? 100 : 0;
    for (uint32_t i = 0; i < facts.cells; i++) {
      CellInfo cell;
      parseCell(geometry_, kTableLeaf, image.data(), get2(image.data() + hdr + 8 + 2 * i), &cell);
      LV_RETURN_IF_ERROR(readPayload(read, image.data(), cell, &payload));
      const bool whole = payload.size() == cell.payload;
      if ((!whole && payload.size() < kMaxSchemaRecord) ||
          !decodeRecord(payload.data(), static_cast<uint32_t>(payload.size()), cell.payload, &columns) || columns.size() < 5 ||
          !columns[0].complete || !columns[1].complete || !columns[3].complete) {
        add(leafPage, "schema", "malformed database schema (the record of rowid " + std::to_string(cell.key) + ")");
        continue;
      }
      const std::string type = columnAscii(columns[0], encoding);
      const std::string name = columnAscii(columns[1], encoding);
      const int64_t rootPage = columnInteger(columns[3]);
      if (rootPage == 0) continue;  // views, triggers, virtual tables
      if (rootPage < 0 || rootPage > int64_t(UINT32_MAX)) {
        add(leafPage, "schema", "malformed database schema (" + type + " '" + name + "' has root page " + std::to_string(rootPage) + ")");
        continue;
      }
      int family = 0;
      if (type == "index") {
        family = kIndex;
      } else if (type == "table") {
        const std::string sql = columnAscii(columns[4], encoding);
        family = !columns[4].complete || (containsIgnoringCase(sql, "WITHOUT") && containsIgnoringCase(sql, "ROWID")) ? 0 : kTable;
      }
      roots->push_back(Root{static_cast<uint32_t>(rootPage), family, type + " '" + name + "'"});
    }
  }
  return Status::ok();
}

Status StructureCheck::finish(const Reader& read, Report* out) {
  *out = Report();
  out->pageSize = pageSize_;
  out->pageCount = pageCount_;
  findings_.clear();  // a finish() again after a failed read starts over
  findingCount_ = 0;
  schemaReads_ = 0;
  if (pageCount_ == 0) return Status::ok();
  // Pages nobody handed in: read them now.
  {
    std::vector<uint8_t> image(pageSize_);
    for (uint32_t page = 1; page <= pageCount_; page++) {
      if (page == lockPage_ || pages_[page].state != kNotAdded) continue;
      LV_RETURN_IF_ERROR(read(page, image.data()));
      addPage(page, image.data());
    }
  }
  const bool cksumActive = options_.cksumvfs == Cksumvfs::kOn ? true : cksumvfsPossible_ && cksumMatches_ > 0;
  out->cksumvfs = cksumActive;
  if (options_.cksumvfs == Cksumvfs::kOn && page1_[20] != kCksumvfsReserve) {
    add(0, "cksumvfs", "cksumvfs: the header reserves " + u(page1_[20]) + " bytes per page, not 8");
  } else if (cksumActive) {
    for (const uint32_t page : cksumMismatches_) add(page, "cksumvfs", "Page " + u(page) + ": cksumvfs checksum mismatch");
    findingCount_ += cksumMismatchCount_ - cksumMismatches_.size();
  }

  referenced_.assign(size_t(pageCount_) / 64 + 1, 0);
  if (lockPage_ <= pageCount_) referenced_[lockPage_ / 64] |= uint64_t(1) << (lockPage_ % 64);

  LV_RETURN_IF_ERROR(checkFreelist(read));

  // The schema b-tree first: its leaves (collected by the walk) name the other roots.
  int height = 0;
  schemaLeaves_.clear();
  LV_RETURN_IF_ERROR(walk(read, 1, Where{Where::kRoot, 1, 1, 0}, Bounds(), 0, kTable, 1, &height));
  std::vector<Root> roots;
  LV_RETURN_IF_ERROR(readSchema(read, &roots));

  if (autoVacuum_) {
    uint32_t maxRoot = 1;
    for (const Root& r : roots) maxRoot = std::max(maxRoot, r.page);
    const uint32_t inHeader = get4(page1_.data() + 52);
    if (maxRoot != inHeader) {
      add(0, "header", "max rootpage (" + u(maxRoot) + ") disagrees with header (" + u(inHeader) + ")");
    }
  } else if (get4(page1_.data() + 64) != 0) {
    add(0, "header", "incremental_vacuum enabled with a max rootpage of zero");
  }

  for (const Root& r : roots) {
    const Where schema{Where::kRoot, r.page, 1, 0};  // the pointer is in the schema (page 1's tree)
    if (autoVacuum_ && r.page > 1) checkPtrmap(r.page, kPtrmapRootPage, 0, schema);
    if (r.page >= 1 && r.page <= pageCount_ && pages_[r.page].state == kGood && r.family != 0 &&
        (r.family == kTable) != isTableFlag(pages_[r.page].flag)) {
      add(r.page, "tree " + u(r.page),
          "Tree " + u(r.page) + ": the root page of " + r.name + " is " +
              (isTableFlag(pages_[r.page].flag) ? "a table" : "an index") + " b-tree page");
    }
    LV_RETURN_IF_ERROR(walk(read, r.page, schema, Bounds(), 0, r.family, r.page, &height));
  }

  // Every page used once or free; pointer-map pages never used.
  for (uint32_t page = 1; page <= pageCount_; page++) {
    const bool used = (referenced_[page / 64] >> (page % 64)) & 1;
    const bool map = isPtrmapPage(page);
    if (!used && !map) add(page, "page map", "Page " + u(page) + ": never used");
    if (used && map) add(page, "page map", "Page " + u(page) + ": pointer map referenced");
  }

  out->findings = std::move(findings_);
  out->findingCount = findingCount_;
  findings_.clear();
  return Status::ok();
}

Status StructureCheck::corruption(const Report& report, const std::string& what) {
  std::string message = "database disk image is malformed: " + what + " fails the structure check";
  if (!report.findings.empty()) {
    const Finding& f = report.findings.front();
    message += f.page != 0 ? " at page " + u(f.page) : "";
    message += " (" + f.structure + "): " + f.message;
  }
  if (report.findingCount > 1) message += " (and " + u(report.findingCount - 1) + " more findings)";
  return Status::error(Code::kCorrupt, message);
}

}  // namespace litevault
