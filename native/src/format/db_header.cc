// Decoding of the 100-byte database header; see db_header.h.
#include "format/db_header.h"

#include <cstring>

#include "format/byte_order.h"

namespace litevault {
namespace {
const uint8_t kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', 0};
}

uint32_t decodePageSize(const uint8_t* b) {
  uint32_t size = (uint32_t(b[0]) << 8) | (uint32_t(b[1]) << 16);
  if (size < 512 || size > 65536 || (size & (size - 1)) != 0) return 0;
  return size;
}

Status countPages(const DbHeader& h, uint64_t availablePages, uint32_t* out) {
  *out = 0;
  const uint64_t claimed = h.inHeaderSizeValid() ? h.inHeaderPageCount : availablePages;
  if (claimed > availablePages || claimed > UINT32_MAX) {
    return Status::error(Code::kCorrupt, "database disk image is malformed: the header claims " +
                                             std::to_string(claimed) + " pages but " +
                                             std::to_string(availablePages) + " exist");
  }
  *out = static_cast<uint32_t>(claimed);
  return Status::ok();
}

Status decodeDbHeader(const uint8_t* b, size_t size, DbHeader* out) {
  *out = DbHeader();
  size_t magicBytes = size < sizeof(kMagic) ? size : sizeof(kMagic);
  if (std::memcmp(b, kMagic, magicBytes) != 0) {
    return Status::error(Code::kNotADb, "file is not a database (no SQLite header)");
  }
  if (size < kDbHeaderSize) {
    return Status::error(Code::kCorrupt, "database header is truncated: the file has " +
                                             std::to_string(size) + " of its 100 header bytes");
  }
  DbHeader h;
  h.pageSize = decodePageSize(b + 16);
  h.writeVersion = b[18];
  h.readVersion = b[19];
  h.reservedBytes = b[20];
  h.changeCounter = get4(b + 24);
  h.inHeaderPageCount = get4(b + 28);
  h.freelistTrunk = get4(b + 32);
  h.freelistCount = get4(b + 36);
  h.schemaCookie = get4(b + 40);
  h.schemaFormat = get4(b + 44);
  h.defaultCacheSize = get4(b + 48);
  h.largestRootPage = get4(b + 52);
  h.textEncoding = get4(b + 56);
  h.userVersion = get4(b + 60);
  h.incrementalVacuum = get4(b + 64);
  h.applicationId = get4(b + 68);
  h.versionValidFor = get4(b + 92);
  h.sqliteVersion = get4(b + 96);

  if (h.readVersion > 2) {
    return Status::error(Code::kNotADb, "file is not a database (read version " +
                                            std::to_string(h.readVersion) + " is newer than 2)");
  }
  if (b[21] != 64 || b[22] != 32 || b[23] != 32) {
    return Status::error(Code::kNotADb, "file is not a database (payload fractions are not 64/32/32)");
  }
  if (h.pageSize == 0) {
    return Status::error(Code::kNotADb,
                         "file is not a database (page size field " + std::to_string(get2(b + 16)) +
                             " is not a power of two in 512..65536)");
  }
  if (h.usableSize() < 480) {
    return Status::error(Code::kNotADb, "file is not a database (" + std::to_string(h.reservedBytes) +
                                            " reserved bytes leave fewer than 480 usable per page)");
  }
  *out = h;
  return Status::ok();
}

}  // namespace litevault
