// One b-tree page on its own (reference §2; btree.c decodeFlags, btreeInitPage,
// btreeComputeFreeSpace, btreeParseCellPtr*, checkTreePage): decoding its header and cells, and
// every check that needs no other page: page type, cell count, cell pointer array and cell
// extents inside the usable area, no byte used twice (cells and freeblocks), the freeblock
// chain, the fragment count, rowids strictly ascending within the page, and each record's
// header against its payload size (the decode integrity_check's "right-most column" read does).
// What the page says about other pages (its children, its overflow chains, its keys for the
// parent's bounds) is handed back for the structure check (structure_check.h) to follow.
//
// The rules are SQLite's, with its limits: a cell is at most usable-4 bytes in, its payload
// local size follows maxLocal/minLocal (table leaves: usable-35 and (usable-12)*32/255-23;
// index pages: (usable-12)*64/255-23 and the same minimum), at most (pageSize-8)/6 cells.
// Pure code on one page image: no I/O, no allocation but the caller's reused vectors; safe to
// fuzz. Thread safety: none needed (functions of their arguments).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace litevault {

// What a database's page size and reserved bytes imply for every b-tree page.
struct PageGeometry {
  uint32_t pageSize = 0;
  uint32_t usableSize = 0;
  uint32_t maxLocalTable = 0, minLocal = 0, maxLocalIndex = 0;
  uint32_t maxCells = 0;
  static PageGeometry of(uint32_t pageSize, uint32_t reservedBytes);
};

// The b-tree page type bytes (fileformat2 §1.6).
enum BtreeFlag : uint8_t { kIndexInterior = 2, kTableInterior = 5, kIndexLeaf = 10, kTableLeaf = 13 };
inline bool isBtreeFlag(uint8_t flag) {
  return flag == kIndexInterior || flag == kTableInterior || flag == kIndexLeaf || flag == kTableLeaf;
}
inline bool isLeafFlag(uint8_t flag) { return flag == kIndexLeaf || flag == kTableLeaf; }
inline bool isTableFlag(uint8_t flag) { return flag == kTableInterior || flag == kTableLeaf; }

struct CellInfo {
  uint32_t offset = 0;      // in the page
  uint32_t size = 0;        // bytes the cell occupies (at least 4)
  uint32_t child = 0;       // interior pages: the left child
  int64_t key = 0;          // table pages: the rowid
  uint32_t payload = 0;     // payload bytes (0 for table interior cells)
  uint32_t local = 0;       // payload bytes stored in the cell
  uint32_t payloadStart = 0;  // offset of the payload in the page
  uint32_t overflow = 0;    // first overflow page (payload > local), else 0
  uint32_t overflowPages = 0;  // pages the overflow chain must have
};

// What one page tells the structure check, filled by checkBtreePage. Vectors are reused.
struct BtreePageFacts {
  uint8_t flag = 0;
  uint32_t cells = 0;
  uint32_t rightChild = 0;
  std::vector<uint32_t> children;  // interior: the left child of each cell, in cell order, then the right child
  std::vector<int64_t> keys;       // table interior: each cell's rowid; table leaf: its rowids
  struct Overflow {
    uint32_t cell, first, pages;
  };
  std::vector<Overflow> overflows;  // cells whose payload continues on overflow pages
  std::vector<uint32_t> spans;  // scratch: the coverage check's cell and freeblock extents
};

// Decodes one cell at `pc` of a page with type `flag`. False when the cell runs off the page
// image; bounds against the usable size are the caller's (checkBtreePage's) to check.
bool parseCell(const PageGeometry& g, uint8_t flag, const uint8_t* page, uint32_t pc, CellInfo* out);

// All the single-page checks of the page `pgno` (page 1's b-tree header is at offset 100).
// Returns false with `error` set to the first problem, integrity_check style ("cell 3: Rowid
// 12 out of order", "free space corruption", ...). Fills `facts` as far as the page decodes.
bool checkBtreePage(const PageGeometry& g, uint32_t pgno, const uint8_t* page, BtreePageFacts* facts,
                    std::string* error);

}  // namespace litevault
