// The empty database's page 1; see new_database.h.
#include "format/new_database.h"

#include <cstring>

namespace litevault {

void encodeEmptyDatabase(uint32_t pageSize, uint8_t reservedBytes, uint8_t* page) {
  static const char kMagic[] = "SQLite format 3";  // 15 chars + NUL = 16 bytes
  std::memset(page, 0, pageSize);
  std::memcpy(page, kMagic, 16);
  page[16] = static_cast<uint8_t>(pageSize >> 8);   // 65536 is stored as 1 (b16<<8 | b17<<16)
  page[17] = static_cast<uint8_t>(pageSize >> 16);
  page[18] = 1;
  page[19] = 1;
  page[20] = reservedBytes;
  page[21] = 64;
  page[22] = 32;
  page[23] = 32;
  // The b-tree page header of page 1 starts at byte 100: a table leaf with no cells.
  const uint32_t usable = pageSize - reservedBytes;
  page[100] = 0x0d;
  page[105] = static_cast<uint8_t>((usable >> 8) & 0xff);  // 65536 wraps to 0, as SQLite stores it
  page[106] = static_cast<uint8_t>(usable & 0xff);
}

}  // namespace litevault
