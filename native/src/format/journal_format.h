// The rollback journal, <db>-journal (reference §2.4; pager.c writeJournalHdr, readJournalHdr,
// pager_playback, pager_playback_one_page, pager_cksum, readSuperJournal).
//
// The journal is a list of segments. Each starts at a multiple of the sector size with a header
// that fills one sector (zero-padded), big-endian:
//     0  8  magic d9 d5 05 f9 20 a1 63 d7     (all zero until the segment is synced)
//     8  4  nRec: records in the segment     (0xFFFFFFFF: compute from the file size)
//    12  4  cksumInit: random nonce for this segment's record checksums
//    16  4  database size in pages before the transaction (the first header's value is used)
//    20  4  sector size (power of two, 32..65536)
//    24  4  page size (power of two, 512..65536)
// followed by nRec records: 4-byte page number, the page's original content, 4-byte checksum.
// The checksum is cksumInit plus the bytes at pageSize-200, pageSize-400, ... (> 0); the page
// number is not included. A writer syncs the records, then writes magic+nRec, then syncs again,
// and only then overwrites database pages, so a header with a good magic always describes
// records that are safely on disk.
//
// An optional super-journal pointer at the end: [4 lock-page number][name][4 len][4 sum][8 magic].
//
// Pure code: no I/O, safe to fuzz.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace litevault {

constexpr size_t kJournalMagicSize = 8;
extern const uint8_t kJournalMagic[kJournalMagicSize];
constexpr size_t kJournalHeaderFields = 28;
constexpr uint32_t kJournalSectorSize = 512;  // what SQLite's unix VFS uses (POWERSAFE_OVERWRITE)
constexpr uint32_t kJournalNRecFromSize = 0xffffffff;

struct JournalHeader {
  bool magicValid = false;
  uint32_t recordCount = 0;     // nRec
  uint32_t checksumInit = 0;
  uint32_t originalPageCount = 0;
  uint32_t sectorSize = 0;
  uint32_t pageSize = 0;
};

// Decodes the first 28 bytes of a segment header; no validation beyond the magic.
JournalHeader decodeJournalHeader(const uint8_t bytes[kJournalHeaderFields]);

// Whether the first header's sizes are ones SQLite accepts (else playback stops at once).
bool journalSizesValid(const JournalHeader& header);

// Encodes a segment header with a zero magic and nRec (the state before the segment is synced)
// into `out`, which must hold `sectorSize` bytes; the rest is zero-filled.
void encodeJournalHeader(const JournalHeader& header, uint8_t* out, uint32_t sectorSize);

// The 12 bytes written over a synced segment's header start: magic, then nRec.
void encodeJournalSeal(uint32_t recordCount, uint8_t out[12]);

uint32_t journalRecordChecksum(uint32_t checksumInit, const uint8_t* page, uint32_t pageSize);

// Offset of the first sector boundary at or after `offset`.
inline uint64_t journalSegmentStart(uint64_t offset, uint32_t sectorSize) {
  return (offset + sectorSize - 1) / sectorSize * sectorSize;
}

// Parses a super-journal pointer from the last `size` bytes of a journal (tail of the file), as
// readSuperJournal does: the 4 bytes before the name are not checked, a name of 513 bytes or
// more counts as none, and so does a bad checksum. Returns false when there is none.
constexpr uint32_t kMaxSuperJournalName = 512;
bool decodeSuperJournalPointer(const uint8_t* tail, size_t size, std::string* name);

}  // namespace litevault
