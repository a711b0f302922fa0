// libFuzzer target: the database header (format/db_header), the empty-database page 1
// (format/new_database) and Status (base/status).
//
// The input is the start of a database file. Besides the sanitizers, every verdict of
// decodeDbHeader is compared with an independent statement of SQLite's lockBtree rules
// (btree.c): magic -> SQLITE_NOTADB, fewer than 100 bytes -> SQLITE_CORRUPT, read version > 2,
// payload fractions other than 64/32/32, a page size that is not a power of two in
// 512..65536, or fewer than 480 usable bytes -> SQLITE_NOTADB. countPages must follow
// lockBtree's in-header-size rule, and encodeEmptyDatabase's page must decode to what it encoded.
#include <cstring>

#include "base/status.h"
#include "format/db_header.h"
#include "format/new_database.h"
#include "fuzz_common.h"

using namespace litevault;

namespace {

const uint8_t kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', 0};

// SQLite's verdict on the first `size` bytes of a non-empty file (lockBtree).
Code expectedVerdict(const uint8_t* b, size_t size) {
  const size_t n = size < 16 ? size : 16;
  if (std::memcmp(b, kMagic, n) != 0) return Code::kNotADb;
  if (size < 100) return Code::kCorrupt;
  if (b[19] > 2) return Code::kNotADb;
  if (b[21] != 64 || b[22] != 32 || b[23] != 32) return Code::kNotADb;
  const uint32_t pageSize = (uint32_t(b[16]) << 8) | (uint32_t(b[17]) << 16);
  if (((pageSize - 1) & pageSize) != 0 || pageSize > 65536 || pageSize <= 256) return Code::kNotADb;
  if (pageSize - b[20] < 480) return Code::kNotADb;
  return Code::kOk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // decodePageSize on any two bytes.
  if (size >= 2) {
    const uint32_t ps = decodePageSize(data);
    const uint32_t raw = (uint32_t(data[0]) << 8) | (uint32_t(data[1]) << 16);
    const bool valid = raw >= 512 && raw <= 65536 && (raw & (raw - 1)) == 0;
    FUZZ_CHECK(ps == (valid ? raw : 0));
  }

  // decodeDbHeader on exactly `size` bytes (ASan sees any read past them). A 0-byte file is an
  // empty database, which callers handle before decoding (db_header.h), so size >= 1.
  if (size == 0) return 0;
  std::vector<uint8_t> copy(data, data + size);  // a heap buffer of the exact size
  DbHeader header;
  Status status = decodeDbHeader(copy.data(), copy.size(), &header);
  fuzz::checkStatus(status);
  FUZZ_CHECK(status.code() == expectedVerdict(data, size));
  FUZZ_CHECK(std::memcmp(copy.data(), data, size) == 0);  // input untouched

  if (!status.isOk()) {
    FUZZ_CHECK(header.pageSize == 0);  // *out is reset on failure
    Status named = status.about("/some/db");
    FUZZ_CHECK(named.code() == status.code());
    FUZZ_CHECK(named.message().find("/some/db") != std::string::npos);
    return 0;
  }

  // Field by field, the big-endian values at the documented offsets.
  FUZZ_CHECK(header.pageSize == decodePageSize(data + 16));
  FUZZ_CHECK(header.writeVersion == data[18] && header.readVersion == data[19]);
  FUZZ_CHECK(header.reservedBytes == data[20]);
  FUZZ_CHECK(header.changeCounter == fuzz::be32(data + 24));
  FUZZ_CHECK(header.inHeaderPageCount == fuzz::be32(data + 28));
  FUZZ_CHECK(header.freelistTrunk == fuzz::be32(data + 32));
  FUZZ_CHECK(header.freelistCount == fuzz::be32(data + 36));
  FUZZ_CHECK(header.schemaCookie == fuzz::be32(data + 40));
  FUZZ_CHECK(header.schemaFormat == fuzz::be32(data + 44));
  FUZZ_CHECK(header.textEncoding == fuzz::be32(data + 56));
  FUZZ_CHECK(header.versionValidFor == fuzz::be32(data + 92));
  FUZZ_CHECK(header.sqliteVersion == fuzz::be32(data + 96));
  FUZZ_CHECK(header.usableSize() >= 480 && header.usableSize() <= header.pageSize);

  // countPages: available pages from the file size (the input's), and from 8 more input bytes.
  uint64_t candidates[2] = {(uint64_t(size) + header.pageSize - 1) / header.pageSize, 0};
  if (size >= 108) {
    for (int i = 0; i < 8; i++) candidates[1] = (candidates[1] << 8) | data[100 + i];
  }
  for (uint64_t available : candidates) {
    uint32_t pages = 12345;
    Status counted = countPages(header, available, &pages);
    fuzz::checkStatus(counted);
    const uint64_t claimed = header.inHeaderSizeValid() ? header.inHeaderPageCount : available;
    if (claimed > available || claimed > UINT32_MAX) {
      FUZZ_CHECK(counted.code() == Code::kCorrupt && pages == 0);
    } else {
      FUZZ_CHECK(counted.isOk() && pages == claimed);
    }
  }

  // The lock-byte page holds byte 0x40000000.
  const uint64_t lockPage = lockBytePage(header.pageSize);
  FUZZ_CHECK((lockPage - 1) * header.pageSize <= kPendingByte && kPendingByte < lockPage * header.pageSize);

  // An empty database with this page size and reserve decodes to the same settings.
  std::vector<uint8_t> page(header.pageSize, 0xa5);
  encodeEmptyDatabase(header.pageSize, header.reservedBytes, page.data());
  DbHeader fresh;
  Status freshStatus = decodeDbHeader(page.data(), page.size(), &fresh);
  FUZZ_CHECK(freshStatus.isOk());
  FUZZ_CHECK(fresh.pageSize == header.pageSize && fresh.reservedBytes == header.reservedBytes);
  FUZZ_CHECK(fresh.readVersion == 1 && fresh.writeVersion == 1 && fresh.changeCounter == 0);
  FUZZ_CHECK(page[100] == 0x0d);
  const uint32_t contentStart = (uint32_t(page[105]) << 8) | page[106];
  FUZZ_CHECK((contentStart == 0 ? 65536u : contentStart) == header.usableSize());
  for (size_t i = 108; i < page.size(); i++) FUZZ_CHECK(page[i] == 0);

  // Status names and the retry rule for any code value.
  const int anyCode = static_cast<int>(fuzz::be32(data + 60));
  const Code code = static_cast<Code>(anyCode);
  FUZZ_CHECK(codeName(code) != nullptr);
  const int primary = anyCode & 0xff;
  // SQLite's codes: BUSY and LOCKED (any extended form); litevault's own (above 0xffff): only
  // LITEVAULT_BACKUP_IN_PROGRESS.
  const bool expected = code == Code::kBackupInProgress || (anyCode <= 0xffff && (primary == 5 || primary == 6));
  FUZZ_CHECK(isRetryable(code) == expected);
  return 0;
}
