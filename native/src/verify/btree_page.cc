// One b-tree page on its own; see btree_page.h.
#include "verify/btree_page.h"

#include <algorithm>

#include "format/byte_order.h"
#include "format/varint.h"
#include "verify/record.h"

namespace litevault {

PageGeometry PageGeometry::of(uint32_t pageSize, uint32_t reservedBytes) {
  PageGeometry g;
  g.pageSize = pageSize;
  g.usableSize = pageSize - reservedBytes;
  g.maxLocalTable = g.usableSize - 35;
  g.minLocal = (g.usableSize - 12) * 32 / 255 - 23;
  g.maxLocalIndex = (g.usableSize - 12) * 64 / 255 - 23;
  g.maxCells = (pageSize - 8) / 6;
  return g;
}

bool parseCell(const PageGeometry& g, uint8_t flag, const uint8_t* page, uint32_t pc, CellInfo* out) {
  const uint8_t* end = page + g.pageSize;
  const uint8_t* cell = page + pc;
  const uint8_t* at = cell;
  *out = CellInfo();
  out->offset = pc;
  if (!isLeafFlag(flag)) {
    if (pc + 4 > g.pageSize) return false;
    out->child = get4(cell);
    at += 4;
  }
  if (flag == kTableInterior) {  // a child pointer and a rowid: no payload
    uint64_t key = 0;
    const uint32_t n = getVarint(at, end, &key);
    if (n == 0) return false;
    out->key = static_cast<int64_t>(key);
    out->size = 4 + n;
    return true;
  }
  uint32_t payload = 0;
  uint32_t n = getPayloadVarint(at, end, &payload);
  if (n == 0) return false;
  at += n;
  if (flag == kTableLeaf) {
    uint64_t key = 0;
    n = getVarint(at, end, &key);
    if (n == 0) return false;
    at += n;
    out->key = static_cast<int64_t>(key);
  }
  out->payload = payload;
  out->payloadStart = static_cast<uint32_t>(at - page);
  const uint32_t header = static_cast<uint32_t>(at - cell);
  const uint32_t maxLocal = flag == kTableLeaf ? g.maxLocalTable : g.maxLocalIndex;
  if (payload <= maxLocal) {
    out->local = payload;
    out->size = std::max<uint32_t>(4, header + payload);
    return true;
  }
  // btreeParseCellAdjustSizeForOverflow
  const uint32_t surplus = g.minLocal + (payload - g.minLocal) % (g.usableSize - 4);
  out->local = surplus <= maxLocal ? surplus : g.minLocal;
  out->size = header + out->local + 4;
  if (uint64_t(pc) + out->size > g.pageSize) return false;
  out->overflow = get4(cell + out->size - 4);
  out->overflowPages = (payload - out->local + g.usableSize - 5) / (g.usableSize - 4);
  return true;
}

namespace {

std::string cellError(uint32_t cell, const std::string& what) { return "cell " + std::to_string(cell) + ": " + what; }

}  // namespace

bool checkBtreePage(const PageGeometry& g, uint32_t pgno, const uint8_t* page, BtreePageFacts* facts,
                    std::string* error) {
  facts->children.clear();
  facts->keys.clear();
  facts->overflows.clear();
  facts->cells = 0;
  facts->rightChild = 0;
  const uint32_t hdr = pgno == 1 ? 100 : 0;
  const uint8_t flag = page[hdr];
  facts->flag = flag;
  // btreeInitPage / decodeFlags
  if (!isBtreeFlag(flag)) {
    *error = "btreeInitPage() returns error code 11 (page type " + std::to_string(flag) + " is not a b-tree page)";
    return false;
  }
  const bool leaf = isLeafFlag(flag);
  const uint32_t childPtrSize = leaf ? 0 : 4;
  const uint32_t nCell = get2(page + hdr + 3);
  if (nCell > g.maxCells) {
    *error = "btreeInitPage() returns error code 11 (" + std::to_string(nCell) + " cells, at most " +
             std::to_string(g.maxCells) + ")";
    return false;
  }
  facts->cells = nCell;
  const uint32_t usable = g.usableSize;
  // btreeComputeFreeSpace
  uint32_t top = get2(page + hdr + 5);
  if (top == 0) top = 65536;
  const uint32_t cellFirst = hdr + 8 + childPtrSize + 2 * nCell;
  const uint32_t cellLast = usable - 4;
  uint32_t pc = get2(page + hdr + 1);
  uint64_t nFree = uint64_t(page[hdr + 7]) + top;
  if (pc > 0) {
    if (pc < top) {
      *error = "free space corruption (first freeblock at " + std::to_string(pc) + ", before the cell content at " +
               std::to_string(top) + ")";
      return false;
    }
    uint32_t next = 0, size = 0;
    for (;;) {
      if (pc > cellLast) {
        *error = "free space corruption (freeblock at " + std::to_string(pc) + " off the end of the page)";
        return false;
      }
      next = get2(page + pc);
      size = get2(page + pc + 2);
      nFree += size;
      if (next <= pc + size + 3) break;
      pc = next;
    }
    if (next > 0) {
      *error = "free space corruption (freeblocks out of order at " + std::to_string(pc) + ")";
      return false;
    }
    if (pc + size > usable) {
      *error = "free space corruption (the last freeblock extends past the page end)";
      return false;
    }
  }
  // (SQLite checks only the sum; a content area that starts inside the cell pointer array is
  // corrupt all the same, and no SQLite writes one.)
  if (nFree > usable || nFree < cellFirst || top < cellFirst) {
    *error = "free space corruption (cell content area at " + std::to_string(top) + ")";
    return false;
  }
  if (!leaf) {
    facts->rightChild = get4(page + hdr + 8);
    facts->children.reserve(nCell + 1);
  }
  // checkTreePage: every cell
  const uint32_t cellStart = hdr + 12 - (leaf ? 4 : 0);
  const uint32_t contentOffset = top;
  const bool table = isTableFlag(flag);
  // Each cell and freeblock as (first byte << 16) | last byte, as checkTreePage's heap has them.
  std::vector<uint32_t>& spans = facts->spans;
  spans.clear();
  CellInfo info;
  for (uint32_t i = 0; i < nCell; i++) {
    pc = get2(page + cellStart + 2 * i);
    if (pc < contentOffset || pc > usable - 4) {
      *error = cellError(i, "Offset " + std::to_string(pc) + " out of range " + std::to_string(contentOffset) + ".." +
                                std::to_string(usable - 4));
      return false;
    }
    if (!parseCell(g, flag, page, pc, &info) || pc + info.size > usable) {
      *error = cellError(i, "Extends off end of page");
      return false;
    }
    if (table) {
      if (!facts->keys.empty() && info.key <= facts->keys.back()) {
        *error = cellError(i, "Rowid " + std::to_string(info.key) + " out of order");
        return false;
      }
      facts->keys.push_back(info.key);
    }
    if (info.payload > info.local) facts->overflows.push_back({i, info.overflow, info.overflowPages});
    if (!leaf) facts->children.push_back(info.child);
    if (flag != kTableInterior && !checkRecordHeader(page + info.payloadStart, info.local, info.payload, error)) {
      *error = cellError(i, *error);
      return false;
    }
    spans.push_back((pc << 16) | (pc + info.size - 1));
  }
  if (!leaf) facts->children.push_back(facts->rightChild);
  // Coverage: cells and freeblocks never overlap, and the bytes they leave uncovered in the
  // content area are the fragment count.
  for (uint32_t f = get2(page + hdr + 1); f > 0; f = get2(page + f)) {
    const uint32_t size = get2(page + f + 2);
    spans.push_back((f << 16) | (f + size - 1));
  }
  std::sort(spans.begin(), spans.end());
  uint32_t prev = contentOffset - 1;
  uint32_t nFrag = 0;
  for (const uint32_t x : spans) {
    if ((prev & 0xffff) >= (x >> 16)) {
      *error = "Multiple uses for byte " + std::to_string(x >> 16) + " of page " + std::to_string(pgno);
      return false;
    }
    nFrag += (x >> 16) - (prev & 0xffff) - 1;
    prev = x;
  }
  nFrag += usable - (prev & 0xffff) - 1;
  if (nFrag != page[hdr + 7]) {
    *error = "Fragmentation of " + std::to_string(nFrag) + " bytes reported as " + std::to_string(page[hdr + 7]) +
             " on page " + std::to_string(pgno);
    return false;
  }
  return true;
}

}  // namespace litevault
