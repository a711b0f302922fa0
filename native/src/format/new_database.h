// Page 1 of a brand-new, empty database, as SQLite's newDatabase() (btree.c) writes it when a
// backup copies an empty source: the 100-byte header (magic, page size, versions 1/1, reserved
// bytes, fractions 64/32/32, everything else zero) followed by an empty table-leaf b-tree page
// (type 0x0d, no cells, cell content starting at the usable size, 0 meaning 65536).
// The change counter, page count and schema cookie are the committer's to fill in.
// Pure code: no I/O.
#pragma once

#include <cstdint>

namespace litevault {

// Fills `page` (pageSize bytes).
void encodeEmptyDatabase(uint32_t pageSize, uint8_t reservedBytes, uint8_t* page);

}  // namespace litevault
