// Rollback-journal playback; see journal_playback.h.
#include "pager/journal_playback.h"

#include <vector>

#include "format/byte_order.h"
#include "format/db_header.h"
#include "format/journal_format.h"

namespace litevault {
namespace {

// pager_truncate: cut the file to `size`, or extend a shorter one with a zeroed last page.
Status setDatabaseSize(const File& db, uint64_t size, uint32_t pageSize) {
  uint64_t current = 0;
  LV_RETURN_IF_ERROR(db.size(&current));
  if (current > size) return db.truncate(size);
  if (current + pageSize <= size) {
    std::vector<uint8_t> zero(pageSize, 0);
    return db.writeAt(zero.data(), pageSize, size - pageSize);
  }
  return Status::ok();
}

}  // namespace

Status playBackJournal(const File& db, const File& journal, PlaybackResult* result) {
  *result = PlaybackResult();
  uint64_t journalSize = 0;
  LV_RETURN_IF_ERROR(journal.size(&journalSize));

  // The super-journal pointer, if any, sits at the very end (name up to 64 KiB).
  uint32_t firstPageSize = 0;
  {
    uint8_t first[kJournalHeaderFields];
    size_t got = 0;
    LV_RETURN_IF_ERROR(journal.readAt(first, sizeof(first), 0, &got));
    if (got < sizeof(first)) return Status::ok();
    firstPageSize = decodeJournalHeader(first).pageSize;
  }
  if (firstPageSize >= 512 && firstPageSize <= 65536) {
    size_t tailSize = journalSize < 65536 + 20 ? size_t(journalSize) : size_t(65536 + 20);
    std::vector<uint8_t> tail(tailSize);
    LV_RETURN_IF_ERROR(journal.readExactly(tail.data(), tailSize, journalSize - tailSize));
    std::string super;
    if (decodeSuperJournalPointer(tail.data(), tailSize, lockBytePage(firstPageSize), &super)) {
      PathInfo info;
      LV_RETURN_IF_ERROR(statPath(super, &info));
      if (!info.exists) {
        result->superJournalMissing = true;
        return Status::ok();
      }
    }
  }

  uint64_t offset = 0;
  uint32_t pageSize = 0;
  uint32_t sectorSize = 0;
  uint32_t lockPage = 0;
  std::vector<uint8_t> record;
  for (bool firstHeader = true;; firstHeader = false) {
    uint8_t bytes[kJournalHeaderFields];
    if (offset + kJournalHeaderFields > journalSize) break;
    LV_RETURN_IF_ERROR(journal.readExactly(bytes, sizeof(bytes), offset));
    JournalHeader header = decodeJournalHeader(bytes);
    if (!header.magicValid) break;
    if (firstHeader) {
      if (!journalSizesValid(header)) break;
      pageSize = header.pageSize;
      sectorSize = header.sectorSize;
      lockPage = lockBytePage(pageSize);
      if (offset + sectorSize > journalSize) break;
      result->originalPageCount = header.originalPageCount;
      LV_RETURN_IF_ERROR(setDatabaseSize(db, uint64_t(header.originalPageCount) * pageSize, pageSize));
      record.resize(pageSize + 8);
    } else if (offset + sectorSize > journalSize) {
      break;
    }
    const uint64_t recordSize = uint64_t(pageSize) + 8;
    uint64_t at = offset + sectorSize;
    uint64_t count = header.recordCount;
    if (count == kJournalNRecFromSize) count = (journalSize - at) / recordSize;
    for (uint64_t i = 0; i < count; i++, at += recordSize) {
      if (at + recordSize > journalSize) return db.sync();  // a short record ends the journal
      LV_RETURN_IF_ERROR(journal.readExactly(record.data(), recordSize, at));
      uint32_t pageNumber = get4(record.data());
      if (pageNumber == 0 || pageNumber == lockPage) return db.sync();
      const uint8_t* page = record.data() + 4;
      if (get4(page + pageSize) != journalRecordChecksum(header.checksumInit, page, pageSize)) return db.sync();
      if (pageNumber > result->originalPageCount) continue;
      LV_RETURN_IF_ERROR(db.writeAt(page, pageSize, uint64_t(pageNumber - 1) * pageSize));
      result->pagesRestored++;
    }
    offset = journalSegmentStart(at, sectorSize);
  }
  if (pageSize == 0) return Status::ok();  // nothing valid: the database was never touched
  return db.sync();
}

}  // namespace litevault
