// Rollback-journal encoding and decoding; see journal_format.h.
#include "format/journal_format.h"

#include <cstring>

#include "format/byte_order.h"

namespace litevault {

const uint8_t kJournalMagic[kJournalMagicSize] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};

JournalHeader decodeJournalHeader(const uint8_t b[kJournalHeaderFields]) {
  JournalHeader h;
  h.magicValid = std::memcmp(b, kJournalMagic, kJournalMagicSize) == 0;
  h.recordCount = get4(b + 8);
  h.checksumInit = get4(b + 12);
  h.originalPageCount = get4(b + 16);
  h.sectorSize = get4(b + 20);
  h.pageSize = get4(b + 24);
  return h;
}

bool journalSizesValid(const JournalHeader& h) {
  auto powerOfTwo = [](uint32_t v) { return v != 0 && (v & (v - 1)) == 0; };
  return h.pageSize >= 512 && h.pageSize <= 65536 && powerOfTwo(h.pageSize) && h.sectorSize >= 32 &&
         h.sectorSize <= 65536 && powerOfTwo(h.sectorSize);
}

void encodeJournalHeader(const JournalHeader& h, uint8_t* out, uint32_t sectorSize) {
  std::memset(out, 0, sectorSize);
  put4(out + 12, h.checksumInit);
  put4(out + 16, h.originalPageCount);
  put4(out + 20, h.sectorSize);
  put4(out + 24, h.pageSize);
}

void encodeJournalSeal(uint32_t recordCount, uint8_t out[12]) {
  std::memcpy(out, kJournalMagic, kJournalMagicSize);
  put4(out + 8, recordCount);
}

uint32_t journalRecordChecksum(uint32_t checksumInit, const uint8_t* page, uint32_t pageSize) {
  uint32_t sum = checksumInit;
  for (int64_t i = int64_t(pageSize) - 200; i > 0; i -= 200) sum += page[i];
  return sum;
}

bool decodeSuperJournalPointer(const uint8_t* tail, size_t size, std::string* name) {
  name->clear();
  if (size < 16) return false;
  const uint8_t* end = tail + size;
  if (std::memcmp(end - 8, kJournalMagic, kJournalMagicSize) != 0) return false;
  const uint32_t length = get4(end - 16);
  const uint32_t sum = get4(end - 12);
  if (length == 0 || length > kMaxSuperJournalName || size_t(length) + 16 > size) return false;
  const uint8_t* start = end - 16 - length;
  uint32_t computed = 0;
  for (uint32_t i = 0; i < length; i++) computed += uint32_t(int32_t(int8_t(start[i])));
  if (computed != sum) return false;
  // A name with an interior NUL ends there (SQLite reads it as a C string).
  size_t n = 0;
  while (n < length && start[n] != 0) n++;
  name->assign(reinterpret_cast<const char*>(start), n);
  return !name->empty();
}

}  // namespace litevault
