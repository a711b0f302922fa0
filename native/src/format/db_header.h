// The database file header: the first 100 bytes of page 1 (reference §1; btreeInt.h, lockBtree).
//
//   off size field                        off size field
//     0  16  "SQLite format 3\0"           44   4  schema format (1..4)
//    16   2  page size (1 means 65536)     48   4  default cache size
//    18   1  write version (1 rollback,    52   4  largest root page (non-zero: auto-vacuum)
//            2 WAL; >2 read-only)          56   4  text encoding (1 UTF-8, 2 UTF-16le, 3 UTF-16be)
//    19   1  read version (>2: NOTADB)     60   4  user_version
//    20   1  reserved bytes per page       64   4  incremental-vacuum flag
//  21-23  3  64, 32, 32                    68   4  application_id
//    24   4  file change counter           72  20  zero
//    28   4  in-header page count          92   4  version-valid-for (= counter when 28 was written)
//    32   4  first freelist trunk page     96   4  SQLITE_VERSION_NUMBER of the last writer
//    36   4  freelist page count
//    40   4  schema cookie
//
// Validation follows lockBtree: a wrong magic, read version > 2, payload fractions other than
// 64/32/32, a page size that is not a power of two in 512..65536, or a usable size under 480 is
// SQLITE_NOTADB. A header cut short (the bytes present match the magic, but fewer than 100) is
// SQLITE_CORRUPT. Pure code: no I/O, safe to fuzz.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace litevault {

constexpr size_t kDbHeaderSize = 100;
constexpr uint64_t kPendingByte = 0x40000000;  // first byte of the lock-byte page

enum class TextEncoding : uint32_t { kUnset = 0, kUtf8 = 1, kUtf16le = 2, kUtf16be = 3 };

struct DbHeader {
  uint32_t pageSize = 0;  // decoded: 512..65536
  uint8_t writeVersion = 0;
  uint8_t readVersion = 0;
  uint8_t reservedBytes = 0;
  uint32_t changeCounter = 0;
  uint32_t inHeaderPageCount = 0;
  uint32_t freelistTrunk = 0;
  uint32_t freelistCount = 0;
  uint32_t schemaCookie = 0;
  uint32_t schemaFormat = 0;
  uint32_t defaultCacheSize = 0;
  uint32_t largestRootPage = 0;
  uint32_t textEncoding = 0;
  uint32_t userVersion = 0;
  uint32_t incrementalVacuum = 0;
  uint32_t applicationId = 0;
  uint32_t versionValidFor = 0;
  uint32_t sqliteVersion = 0;

  // lockBtree's rule: byte 28 counts only if non-zero and the change counter at 24 equals the
  // version-valid-for copy at 92.
  bool inHeaderSizeValid() const {
    return inHeaderPageCount != 0 && changeCounter == versionValidFor;
  }
  uint32_t usableSize() const { return pageSize - reservedBytes; }
};

// Decodes and validates `size` bytes from the start of a database file. `size` may be less than
// 100 (a truncated file); `size` == 0 is not handled here (an empty file is an empty database).
Status decodeDbHeader(const uint8_t* bytes, size_t size, DbHeader* out);

// lockBtree's page count: the in-header size when it is valid, else `availablePages` (what the
// file, or the WAL's last commit, holds). SQLITE_CORRUPT when a valid in-header size exceeds it.
Status countPages(const DbHeader& header, uint64_t availablePages, uint32_t* out);

// The page size field as SQLite decodes it: (b16<<8)|(b17<<16), so 1 means 65536. Returns 0 if
// the value is not a valid page size.
uint32_t decodePageSize(const uint8_t* bytes16);

// The page holding file bytes kPendingByte..+511; it never holds content.
inline uint32_t lockBytePage(uint32_t pageSize) {
  return static_cast<uint32_t>(kPendingByte / pageSize) + 1;
}

}  // namespace litevault
