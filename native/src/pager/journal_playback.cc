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

Status playBackJournal(const File& db, const File& journal, uint32_t databasePageSize, PlaybackResult* result) {
  *result = PlaybackResult();
  uint64_t journalSize = 0;
  LV_RETURN_IF_ERROR(journal.size(&journalSize));

  // The super-journal pointer, if any, sits at the very end. If it names a super-journal that no
  // longer exists (or cannot be looked up), the multi-database transaction committed.
  {
    const size_t tailSize = journalSize < kMaxSuperJournalName + 16 ? size_t(journalSize) : size_t(kMaxSuperJournalName + 16);
    std::vector<uint8_t> tail(tailSize);
    LV_RETURN_IF_ERROR(journal.readExactly(tail.data(), tailSize, journalSize - tailSize));
    std::string super;
    if (decodeSuperJournalPointer(tail.data(), tailSize, &super)) {
      // sqlite3OsAccess(SQLITE_ACCESS_EXISTS): a 0-byte super-journal counts as absent.
      PathInfo info;
      if (!statPath(super, &info).isOk() || !info.present()) {
        result->superJournalMissing = true;
        return Status::ok();
      }
      result->superJournal = super;
    }
  }
  if (databasePageSize == 0) {
    uint8_t field[2] = {};
    size_t got = 0;
    LV_RETURN_IF_ERROR(db.readAt(field, sizeof(field), 16, &got));
    if (got == sizeof(field)) databasePageSize = decodePageSize(field);
    if (databasePageSize == 0) databasePageSize = 4096;  // SQLITE_DEFAULT_PAGE_SIZE, as a new pager has
  }

  uint64_t offset = 0;
  uint32_t pageSize = 0;
  uint32_t sectorSize = 0;
  uint32_t lockPage = 0;
  std::vector<uint8_t> record;
  for (bool firstHeader = true;; firstHeader = false) {
    uint8_t bytes[kJournalHeaderFields];
    // readJournalHdr: a whole header must be there, measured in the reader's sector size for
    // the first (512, like SQLite's unix VFS) and in the journal's own after that.
    if (offset + (firstHeader ? kJournalSectorSize : sectorSize) > journalSize) break;
    LV_RETURN_IF_ERROR(journal.readExactly(bytes, sizeof(bytes), offset));
    JournalHeader header = decodeJournalHeader(bytes);
    if (!header.magicValid) break;
    if (firstHeader) {
      if (header.pageSize == 0) header.pageSize = databasePageSize;  // pre-3.5.8 journals
      if (!journalSizesValid(header)) break;
      pageSize = header.pageSize;
      sectorSize = header.sectorSize;
      lockPage = lockBytePage(pageSize);
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
      if (pageNumber > result->originalPageCount) continue;  // before the checksum, as SQLite does
      const uint8_t* page = record.data() + 4;
      if (get4(page + pageSize) != journalRecordChecksum(header.checksumInit, page, pageSize)) return db.sync();
      LV_RETURN_IF_ERROR(db.writeAt(page, pageSize, uint64_t(pageNumber - 1) * pageSize));
      result->pagesRestored++;
    }
    offset = journalSegmentStart(at, sectorSize);
  }
  if (pageSize == 0) return Status::ok();  // nothing valid: the database was never touched
  return db.sync();
}

}  // namespace litevault

namespace litevault {

// pager_delsuper: the super-journal is a list of NUL-terminated child journal names. Each child
// that still exists and still names this super-journal is a transaction not yet rolled back, so
// the super-journal stays; when none does, it is deleted.
Status deleteSuperJournalIfUnused(const std::string& superPath) {
  std::unique_ptr<File> super;
  Status opened = openUnlockedFile(superPath, OpenIntent::kRead, &super);
  if (!opened.isOk()) return Status::ok();  // gone already (another process finished it)
  uint64_t size = 0;
  LV_RETURN_IF_ERROR(super->size(&size));
  if (size > (64u << 20)) return Status::ok();  // not a super-journal any SQLite writes: leave it
  std::vector<char> names(size_t(size) + 1, 0);
  LV_RETURN_IF_ERROR(super->readExactly(names.data(), size_t(size), 0));
  for (size_t at = 0; at < size_t(size);) {
    const std::string child(names.data() + at);
    at += child.size() + 1;
    if (child.empty()) continue;
    PathInfo info;
    LV_RETURN_IF_ERROR(statPath(child, &info));
    if (!info.present()) continue;
    std::unique_ptr<File> journal;
    if (!openUnlockedFile(child, OpenIntent::kRead, &journal).isOk()) return Status::ok();  // in doubt, keep it
    uint64_t journalSize = 0;
    LV_RETURN_IF_ERROR(journal->size(&journalSize));
    const size_t tailSize = journalSize < kMaxSuperJournalName + 16 ? size_t(journalSize) : size_t(kMaxSuperJournalName + 16);
    std::vector<uint8_t> tail(tailSize);
    LV_RETURN_IF_ERROR(journal->readExactly(tail.data(), tailSize, journalSize - tailSize));
    std::string named;
    if (decodeSuperJournalPointer(tail.data(), tailSize, &named) && named == superPath) return Status::ok();
  }
  super.reset();
  return removeFile(superPath);
}

}  // namespace litevault
