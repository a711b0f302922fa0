// libFuzzer target: the rollback journal (format/journal_format: decodeJournalHeader,
// journalSizesValid, decodeSuperJournalPointer, journalRecordChecksum, encodeJournalHeader,
// encodeJournalSeal) and the whole hot-journal playback over real descriptors
// (pager/journal_playback: playBackJournal(db, journal)).
//
// Input: [2 bytes: initial database size / 256] [1 byte: database page-size exponent] [journal].
// The database is a memfd holding a SQLite header (with that page size) and a byte pattern; the
// journal is a memfd holding the rest of the input. After playBackJournal the database file is
// compared with a reference model of SQLite 3.40's pager_playback / readJournalHdr /
// pager_playback_one_page / readSuperJournal / pager_truncate, written out below.
//
// The model is SQLite's rules alone: litevault's playback once differed from them on forged
// journals (first-header sizes, the order of the page-range and checksum tests, the super-journal
// pointer's prefix and name length, a page-size field of 0); those were fixed, and
// test/malformed.test.ts keeps one case for each.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "format/db_header.h"
#include "format/journal_format.h"
#include "fuzz_common.h"
#include "pager/journal_playback.h"

using namespace litevault;

namespace {

const uint8_t kMagic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
constexpr uint64_t kPending = 0x40000000;
constexpr uint32_t kLocalSector = 512;  // the unix VFS with POWERSAFE_OVERWRITE


bool pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// The database as the model sees it: the initial bytes (kept below `keep`), zero elsewhere,
// and whole pages written by the playback on top (see expected()).
struct ModelDb {
  std::vector<uint8_t> base;
  uint64_t keep = 0;
  uint64_t size = 0;
  uint32_t pageSize = 0;
  std::map<uint64_t, std::vector<uint8_t>> pages;  // byte offset -> content

  // pager_truncate: cut, or extend with a zeroed last page.
  void setSize(uint64_t target, uint32_t ps) {
    if (size > target) {
      size = target;
      if (keep > target) keep = target;
      for (auto it = pages.begin(); it != pages.end();) it = it->first >= target ? pages.erase(it) : std::next(it);
    } else if (size + ps <= target) {
      // The zero page written at target-ps (over anything there).
      pageSize = ps;
      pages[target - ps] = std::vector<uint8_t>(ps, 0);
      size = target;
    }
  }
  void write(uint64_t offset, const uint8_t* page, uint32_t ps) {
    pageSize = ps;
    pages[offset] = std::vector<uint8_t>(page, page + ps);
    if (offset + ps > size) size = offset + ps;
  }
};

struct ModelResult {
  bool error = false;  // litevault-only: SQLITE_CANTOPEN from stat() of the super-journal name
  bool superMissing = false;
  uint32_t restored = 0;
};

// Existence of a super-journal, as SQLite's unixAccess answers it (any failure: missing).
bool superExists(const std::string& name) {
  struct stat st;
  return stat(name.c_str(), &st) == 0;
}

// readSuperJournal: szJ >= 16, 0 < len < 513, len <= szJ-16, magic, checksum (signed chars).
std::string superJournalName(const uint8_t* j, uint64_t szJ) {
  if (szJ < 16) return "";
  const uint32_t len = fuzz::be32(j + szJ - 16);
  if (len >= 513 || len > szJ - 16 || len == 0) return "";
  if (std::memcmp(j + szJ - 8, kMagic, 8) != 0) return "";
  uint32_t sum = fuzz::be32(j + szJ - 12);
  const uint8_t* name = j + szJ - 16 - len;
  for (uint32_t u = 0; u < len; u++) sum -= uint32_t(int32_t(int8_t(name[u])));
  if (sum != 0) return "";
  return std::string(reinterpret_cast<const char*>(name), strnlen(reinterpret_cast<const char*>(name), len));
}

uint32_t recordSum(uint32_t init, const uint8_t* page, uint32_t ps) {
  uint32_t sum = init;
  for (int64_t i = int64_t(ps) - 200; i > 0; i -= 200) sum += page[i];
  return sum;
}

ModelResult modelPlayback(const uint8_t* j, uint64_t szJ, uint32_t dbPageSize, ModelDb* db) {
  ModelResult r;
  const std::string super = superJournalName(j, szJ);
  if (!super.empty()) {
    if (!superExists(super)) {
      r.superMissing = true;
      return r;
    }
  }
  uint32_t sector = kLocalSector;
  uint32_t ps = 0;
  uint32_t dbSize = 0;
  uint64_t off = 0;
  for (bool first = true;; first = false) {
    const uint64_t hdr = first ? 0 : (off + sector - 1) / sector * sector;
    if (hdr + sector > szJ) break;  // the first header: the local sector size
    if (std::memcmp(j + hdr, kMagic, 8) != 0) break;
    uint32_t nRec = fuzz::be32(j + hdr + 8);
    const uint32_t init = fuzz::be32(j + hdr + 12);
    const uint32_t mxPg = fuzz::be32(j + hdr + 16);
    if (first) {
      const uint32_t sec = fuzz::be32(j + hdr + 20);
      uint32_t pgs = fuzz::be32(j + hdr + 24);
      if (pgs == 0) pgs = dbPageSize;
      if (pgs < 512 || sec < 32 || pgs > 65536 || sec > 65536 || !pow2(pgs) || !pow2(sec)) break;
      ps = pgs;
      sector = sec;
      dbSize = mxPg;
      db->setSize(uint64_t(mxPg) * ps, ps);
    }
    off = hdr + sector;
    const uint64_t rec = uint64_t(ps) + 8;
    uint64_t count = nRec;
    if (nRec == 0xffffffff) count = (szJ - sector) / rec;
    const uint32_t lockPage = uint32_t(kPending / ps) + 1;
    for (uint64_t u = 0; u < count; u++) {
      if (off + 4 + ps > szJ) return r;  // short read
      const uint32_t pgno = fuzz::be32(j + off);
      const uint8_t* page = j + off + 4;
      off += rec;
      if (pgno == 0 || pgno == lockPage) return r;
      if (pgno > dbSize) continue;  // skipped before the checksum is read
      if (off > szJ) return r;                // the checksum is cut off
      if (fuzz::be32(j + off - 4) != recordSum(init, page, ps)) return r;
      db->write(uint64_t(pgno - 1) * ps, page, ps);
      r.restored++;
    }
  }
  return r;
}

// The model's bytes [from, to) into `out`.
void expected(const ModelDb& model, uint64_t from, uint64_t to, std::vector<uint8_t>* out) {
  out->assign(size_t(to - from), 0);
  if (from < model.keep) std::memcpy(out->data(), model.base.data() + from, size_t(std::min(to, model.keep) - from));
  for (const auto& [offset, page] : model.pages) {
    const uint64_t a = std::max(from, offset), b = std::min(to, offset + page.size());
    if (a < b) std::memcpy(out->data() + (a - from), page.data() + (a - offset), size_t(b - a));
  }
}

void compareDb(const File& file, const ModelDb& model) {
  uint64_t size = 0;
  FUZZ_CHECK(file.size(&size).isOk());
  if (size != model.size) {
    std::fprintf(stderr, "database size: litevault %llu, model %llu\n", (unsigned long long)size, (unsigned long long)model.size);
    FUZZ_CHECK(size == model.size);
  }
  std::vector<uint8_t> real, want;
  auto check = [&](uint64_t from, uint64_t to) {
    if (from >= to) return;
    real.resize(size_t(to - from));
    size_t got = 0;
    FUZZ_CHECK(file.readAt(real.data(), real.size(), from, &got).isOk() && got == real.size());
    expected(model, from, to, &want);
    if (std::memcmp(real.data(), want.data(), real.size()) != 0) {
      size_t i = 0;
      while (real[i] == want[i]) i++;
      std::fprintf(stderr, "database byte %llu: litevault %u, model %u\n", (unsigned long long)(from + i), real[i], want[i]);
      FUZZ_CHECK(false);
    }
  };
  // The initial bytes, every page the model wrote, and every data extent of the real file.
  check(0, std::min<uint64_t>(size, model.base.size()));
  for (const auto& [offset, page] : model.pages) check(offset, std::min<uint64_t>(size, offset + page.size()));
  int extents = 0;
  for (off_t at = 0; uint64_t(at) < size && extents < 64; extents++) {
    off_t data = lseek(file.fd(), at, SEEK_DATA);
    if (data < 0) break;
    off_t hole = lseek(file.fd(), data, SEEK_HOLE);
    FUZZ_CHECK(hole > data);
    check(uint64_t(data), std::min<uint64_t>(uint64_t(hole), std::min<uint64_t>(size, uint64_t(data) + (1u << 20))));
    at = hole;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint64_t dbBytes = uint64_t((uint32_t(data[0]) << 8) | data[1]) % 257 * 256;  // 0..64 KiB
  const uint32_t dbPageSize = 512u << (data[2] % 8);
  const uint8_t* j = data + 3;
  const size_t szJ = size - 3;

  // The pure pieces.
  if (szJ >= kJournalHeaderFields) {
    uint8_t fields[kJournalHeaderFields];
    std::memcpy(fields, j, sizeof(fields));
    JournalHeader h = decodeJournalHeader(fields);
    FUZZ_CHECK(h.magicValid == (std::memcmp(j, kMagic, 8) == 0));
    FUZZ_CHECK(h.recordCount == fuzz::be32(j + 8) && h.checksumInit == fuzz::be32(j + 12));
    FUZZ_CHECK(h.originalPageCount == fuzz::be32(j + 16) && h.sectorSize == fuzz::be32(j + 20) && h.pageSize == fuzz::be32(j + 24));
    const bool sane = h.pageSize >= 512 && h.pageSize <= 65536 && pow2(h.pageSize) && h.sectorSize >= 32 &&
                      h.sectorSize <= 65536 && pow2(h.sectorSize);
    FUZZ_CHECK(journalSizesValid(h) == sane);
    if (sane) {
      // encodeJournalHeader + encodeJournalSeal round trip.
      std::vector<uint8_t> sector(h.sectorSize, 0xee);
      encodeJournalHeader(h, sector.data(), h.sectorSize);
      uint8_t seal[12];
      encodeJournalSeal(h.recordCount, seal);
      std::memcpy(sector.data(), seal, sizeof(seal));
      JournalHeader back = decodeJournalHeader(sector.data());
      FUZZ_CHECK(back.magicValid && back.recordCount == h.recordCount && back.checksumInit == h.checksumInit &&
                 back.originalPageCount == h.originalPageCount && back.sectorSize == h.sectorSize &&
                 back.pageSize == h.pageSize);
      for (size_t i = kJournalHeaderFields; i < sector.size(); i++) FUZZ_CHECK(sector[i] == 0);
      if (szJ >= h.pageSize) FUZZ_CHECK(journalRecordChecksum(h.checksumInit, j, h.pageSize) == recordSum(h.checksumInit, j, h.pageSize));
    }
  }
  {
    std::vector<uint8_t> tail(j, j + szJ);  // exact-size heap copy
    std::string name;
    const bool found = decodeSuperJournalPointer(tail.data(), tail.size(), &name);
    FUZZ_CHECK(found == !name.empty());
    FUZZ_CHECK(name.find('\0') == std::string::npos);
  }

  // The whole playback, against the model.
  static const std::vector<uint8_t> pattern = [] {
    std::vector<uint8_t> v(257 * 256);
    for (size_t i = 0; i < v.size(); i++) v[i] = uint8_t(i * 7 + 3);
    return v;
  }();
  std::vector<uint8_t> initial(pattern.begin(), pattern.begin() + dbBytes);
  if (initial.size() >= 100) {
    static const char kHeader[] = "SQLite format 3";
    std::memcpy(initial.data(), kHeader, 16);
    initial[16] = uint8_t(dbPageSize >> 8);
    initial[17] = uint8_t(dbPageSize >> 16);
  }
  auto db = fuzz::memFile("db", initial.data(), initial.size());
  auto journal = fuzz::memFile("journal", j, szJ);
  PlaybackResult result;
  Status status = playBackJournal(*db, *journal, 0, &result);
  fuzz::checkStatus(status);

  ModelDb model;
  model.base = initial;
  model.keep = model.size = initial.size();
  // The page size the reading pager has, as sqlite3BtreeOpen sets it: the database header's
  // bytes 16..17 when they hold a valid size (short files read as zero-filled), else 4096.
  uint32_t pagerPageSize = 0;
  if (initial.size() >= 18) pagerPageSize = decodePageSize(initial.data() + 16);
  if (pagerPageSize == 0) pagerPageSize = 4096;
  const ModelResult expected = modelPlayback(j, szJ, pagerPageSize, &model);
  if (expected.error || !status.isOk()) {
    if (!(expected.error && status.code() == Code::kCantOpen)) {
      std::fprintf(stderr, "status: litevault %s (%s), model %s\n", codeName(status.code()), status.message().c_str(),
                   expected.error ? "error" : "ok");
      FUZZ_CHECK(false);
    }
    FUZZ_CHECK(fuzz::contents(*db) == initial);  // nothing written before the failure
    return 0;
  }
  FUZZ_CHECK(result.superJournalMissing == expected.superMissing);
  if (result.pagesRestored != expected.restored) {
    std::fprintf(stderr, "pages restored: litevault %u, model %u\n", result.pagesRestored, expected.restored);
    FUZZ_CHECK(false);
  }
  compareDb(*db, model);
  FUZZ_CHECK(fuzz::contents(*journal) == std::vector<uint8_t>(j, j + szJ));  // the journal is only read
  return 0;
}
