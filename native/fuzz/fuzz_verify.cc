// libFuzzer target: litevault's structure check (verify/structure_check, verify/btree_page,
// verify/record, verify/cksumvfs).
//
// The input is a whole database image (at most 4 MiB; inputs decodeDbHeader or countPages
// reject are skipped). Its page count is lockBtree's, over ceil(size / pageSize) pages; the
// bytes of a last page cut short read as zeros, as from a short file. Every page handed to the
// code under test is a heap buffer of exactly the size it is promised, so ASan sees any read
// past it. Properties besides the sanitizers:
//   1. order independence (and so determinism): the check fed every page in ascending order,
//      in descending order, half of them (the rest left to finish()'s reader) or none gives
//      the same ok() and findingCount; when nothing was left out (findings.size() ==
//      findingCount) the same findings, as a multiset (only cksumvfs mismatches follow the
//      order pages came in); two ascending runs give identical reports;
//   2. every finding names a page in 0..pageCount (a pointer past the end: the page holding
//      it), a known structure and a non-empty message; findings.size() <= maxFindings and <=
//      findingCount; the report's pageSize/pageCount are the database's; corruption() of a
//      report with findings is SQLITE_CORRUPT quoting the first one;
//   3. pagesToRead() is ascending, distinct, in 1..pageCount without the lock-byte page, and
//      finish() reads no page it did not list (a vault verify keeps only those); a finish()
//      whose read fails part way returns that error, and the next finish() starts over and
//      gives the same report;
//   4. checkBtreePage on every page, parseCell on every cell pointer of it, and checkRecordHeader
//      / decodeRecord / columnInteger / columnAscii on every cell's local payload (an exact copy)
//      read nothing out of bounds;
//   5. cksumvfs: a page whose last 8 bytes are set to cksumvfsCompute's sum matches; with every
//      page so fixed, a check with cksumvfs on reports cksumvfs verified and no cksumvfs finding;
//      cksumvfs is reported verified in auto mode only with 8 reserved bytes, and a cksumvfs
//      finding comes only when it was verified (or asked for);
//   6. maxFindings changes no count (all findings are counted) and only cuts the list short:
//      the same first findings, in order.
// Two option sets per input: the defaults (100 findings, cksumvfs auto), and one chosen by header
// byte 72 (reserved for expansion, read neither by SQLite nor by the check): maxFindings
// b72 & 7, cksumvfs auto/on/off by (b72 >> 3) % 3.
//
// FUZZ_VERIFY_EXPECT_OK=1 (run.sh sets it to replay the seeds SQLite's integrity_check passed):
// also requires ok() with the default options.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "format/byte_order.h"
#include "format/db_header.h"
#include "fuzz_common.h"
#include "verify/btree_page.h"
#include "verify/cksumvfs.h"
#include "verify/record.h"
#include "verify/structure_check.h"

using namespace litevault;

namespace {

constexpr size_t kMaxInput = 4 << 20;

// The database as a file of `size` bytes: page n is bytes (n-1)*pageSize.., zeros past the end.
struct Image {
  const uint8_t* data;
  size_t size;
  uint32_t pageSize;
  uint32_t pageCount;
  uint32_t lockPage;

  void read(uint32_t page, uint8_t* out) const {
    const uint64_t at = uint64_t(page - 1) * pageSize;
    const size_t have = at >= size ? 0 : std::min<size_t>(pageSize, size - size_t(at));
    if (have) std::memcpy(out, data + at, have);
    std::memset(out + have, 0, pageSize - have);
  }
  std::vector<uint8_t> page(uint32_t n) const {
    std::vector<uint8_t> out(pageSize);  // exactly pageSize bytes on the heap
    read(n, out.data());
    return out;
  }
};

bool partialList() {
  static const bool on = std::getenv("FUZZ_VERIFY_PARTIAL_LIST") != nullptr;
  return on;
}

enum class Order { kAscending, kDescending, kEvenDescending, kOddAscending, kNone };

bool added(Order order, uint32_t page) {
  switch (order) {
    case Order::kAscending:
    case Order::kDescending:
      return true;
    case Order::kEvenDescending:
      return page % 2 == 0;
    case Order::kOddAscending:
      return page % 2 == 1;
    case Order::kNone:
      return false;
  }
  return false;
}

bool identical(const StructureCheck::Report& a, const StructureCheck::Report& b);

void feed(const Image& img, Order order, StructureCheck* check) {
  const bool descending = order == Order::kDescending || order == Order::kEvenDescending;
  for (uint32_t i = 0; i < img.pageCount; i++) {
    const uint32_t page = descending ? img.pageCount - i : i + 1;
    if (page == img.lockPage || !added(order, page)) continue;
    const std::vector<uint8_t> image = img.page(page);
    check->addPage(page, image.data());
  }
}

StructureCheck::Report runCheck(const Image& img, const StructureCheck::Options& options, Order order) {
  const std::vector<uint8_t> page1 = img.page(1);
  StructureCheck check(page1.data(), img.pageSize, img.pageCount, options);
  FUZZ_CHECK(check.pageCount() == img.pageCount);
  feed(img, order, &check);
  // pagesToRead: ascending, distinct, in 1..pageCount, never the lock-byte page, and, once every
  // page was added (as a vault verify adds them), every page finish() reads (the vault keeps
  // exactly these for it and fails on any other). With pages left out it cannot follow a chain
  // through one (see native/fuzz/crashes-verify/README.md); FUZZ_VERIFY_PARTIAL_LIST=1 holds
  // those orders to it too.
  const std::vector<uint32_t> listed = check.pagesToRead();
  const bool complete = order == Order::kAscending || order == Order::kDescending || partialList();
  for (size_t i = 0; i < listed.size(); i++) {
    FUZZ_CHECK(listed[i] >= 1 && listed[i] <= img.pageCount && listed[i] != img.lockPage);
    if (i > 0) FUZZ_CHECK(listed[i - 1] < listed[i]);
  }
  uint64_t reads = 0;
  auto reader = [&img, &listed, &reads, complete](uint32_t page, uint8_t* out) {
    FUZZ_CHECK(page >= 1 && page <= img.pageCount && page != img.lockPage);
    if (complete && !std::binary_search(listed.begin(), listed.end(), page)) {
      std::fprintf(stderr, "finish() read page %u, which pagesToRead() did not list (%zu listed)\n", page, listed.size());
      FUZZ_CHECK(std::binary_search(listed.begin(), listed.end(), page));
    }
    img.read(page, out);
    reads++;
    return Status::ok();
  };
  StructureCheck::Report report;
  FUZZ_CHECK(check.finish(reader, &report).isOk());  // the reader never fails
  const uint64_t firstReads = reads;

  // finish() again gives the same report; and on a check fed the same pages, a finish() whose
  // read fails part way returns that error, and the next finish() starts over and gives the
  // same report too.
  StructureCheck::Report again;
  FUZZ_CHECK(check.finish(reader, &again).isOk());
  FUZZ_CHECK(identical(report, again));
  if (firstReads > 0 && order == Order::kEvenDescending) {
    StructureCheck retried(page1.data(), img.pageSize, img.pageCount, options);
    feed(img, order, &retried);
    uint64_t left = (uint64_t(img.size) * 2654435761u) % firstReads;
    StructureCheck::Report failed;
    const Status err = retried.finish(
        [&](uint32_t page, uint8_t* out) {
          if (left-- == 0) return Status::error(Code::kIoErr, "fuzz: read of page " + std::to_string(page) + " fails");
          return reader(page, out);
        },
        &failed);
    FUZZ_CHECK(err.code() == Code::kIoErr);
    FUZZ_CHECK(retried.finish(reader, &again).isOk());
    FUZZ_CHECK(identical(report, again));
  }

  // 2. the report's promises.
  FUZZ_CHECK(report.pageSize == img.pageSize && report.pageCount == img.pageCount);
  FUZZ_CHECK(report.findings.size() <= options.maxFindings);
  FUZZ_CHECK(report.findings.size() <= report.findingCount);
  FUZZ_CHECK(report.ok() == (report.findingCount == 0));
  if (options.cksumvfs == StructureCheck::Cksumvfs::kOff) FUZZ_CHECK(!report.cksumvfs);
  if (options.cksumvfs == StructureCheck::Cksumvfs::kAuto && report.cksumvfs) FUZZ_CHECK(page1[20] == kCksumvfsReserve);
  for (const StructureCheck::Finding& f : report.findings) {
    if (!report.cksumvfs) FUZZ_CHECK(f.structure != "cksumvfs" || options.cksumvfs == StructureCheck::Cksumvfs::kOn);
    if (f.message.empty() || f.page > img.pageCount) {
      std::fprintf(stderr, "finding: page %u of %u (%s): %s\n", f.page, img.pageCount, f.structure.c_str(), f.message.c_str());
    }
    FUZZ_CHECK(!f.message.empty());
    FUZZ_CHECK(f.page <= img.pageCount);
    const std::string& s = f.structure;
    const bool known = s == "header" || s == "freelist" || s == "pointer map" || s == "page map" ||
                       s == "schema" || s == "cksumvfs" ||
                       (s.size() > 5 && s.compare(0, 5, "tree ") == 0 &&
                        s.find_first_not_of("0123456789", 5) == std::string::npos);
    FUZZ_CHECK(known);
  }
  if (!report.ok()) {
    const Status corrupt = StructureCheck::corruption(report, "'fuzz.db'");
    fuzz::checkStatus(corrupt);
    FUZZ_CHECK(corrupt.code() == Code::kCorrupt);
    if (!report.findings.empty()) FUZZ_CHECK(corrupt.message().find(report.findings[0].message) != std::string::npos);
  }
  return report;
}

using Key = std::tuple<uint32_t, std::string, std::string>;
std::vector<Key> sortedFindings(const StructureCheck::Report& r) {
  std::vector<Key> out;
  for (const StructureCheck::Finding& f : r.findings) out.emplace_back(f.page, f.structure, f.message);
  std::sort(out.begin(), out.end());
  return out;
}

bool identical(const StructureCheck::Report& a, const StructureCheck::Report& b) {
  if (a.findingCount != b.findingCount || a.cksumvfs != b.cksumvfs || a.findings.size() != b.findings.size()) {
    return false;
  }
  for (size_t i = 0; i < a.findings.size(); i++) {
    const StructureCheck::Finding &x = a.findings[i], &y = b.findings[i];
    if (x.page != y.page || x.structure != y.structure || x.message != y.message) return false;
  }
  return true;
}

// 1. the same verdict whatever the order pages come in.
void sameVerdict(const StructureCheck::Report& a, const StructureCheck::Report& b) {
  FUZZ_CHECK(a.ok() == b.ok());
  FUZZ_CHECK(a.findingCount == b.findingCount);
  FUZZ_CHECK(a.cksumvfs == b.cksumvfs);
  FUZZ_CHECK(a.findings.size() == b.findings.size());
  if (a.findings.size() == a.findingCount) FUZZ_CHECK(sortedFindings(a) == sortedFindings(b));
}

// 4. the single-page functions on exact-size copies.
void checkPages(const Image& img, uint8_t reserved) {
  const PageGeometry g = PageGeometry::of(img.pageSize, reserved);
  BtreePageFacts facts;
  std::vector<RecordColumn> columns;
  for (uint32_t n = 1; n <= img.pageCount; n++) {
    const std::vector<uint8_t> page = img.page(n);
    std::string error;
    const bool good = checkBtreePage(g, n, page.data(), &facts, &error);
    if (!good) FUZZ_CHECK(!error.empty());
    if (good) {
      FUZZ_CHECK(facts.cells <= g.maxCells);
      FUZZ_CHECK(facts.children.size() == (isLeafFlag(facts.flag) ? 0 : facts.cells + 1));
    }
    // parseCell on every cell pointer the page lists (as far as the array fits in the page,
    // and at most maxCells), with the page's own type if it is a b-tree page, else a type
    // chosen by the page number.
    const uint32_t hdr = n == 1 ? 100 : 0;
    const uint8_t flags[4] = {kIndexInterior, kTableInterior, kIndexLeaf, kTableLeaf};
    const uint8_t f = isBtreeFlag(page[hdr]) ? page[hdr] : flags[n % 4];
    const uint32_t nCell = std::min<uint32_t>(get2(page.data() + hdr + 3), g.maxCells);
    {
      const uint32_t array = hdr + (isLeafFlag(f) ? 8 : 12);
      for (uint32_t i = 0; i < nCell && array + 2 * i + 2 <= img.pageSize; i++) {
        const uint32_t pc = get2(page.data() + array + 2 * i);
        if (pc >= img.pageSize) continue;  // parseCell's caller keeps pc inside the page
        CellInfo cell;
        if (!parseCell(g, f, page.data(), pc, &cell)) continue;
        FUZZ_CHECK(cell.offset == pc && cell.size >= 4 && cell.local <= cell.payload);
        // (overflowPages is SQLite's u32 formula: a payload size near 2^32 wraps it to 0, as in
        // checkTreePage, and the chain then fails its length check.)
        if (cell.payload > cell.local) FUZZ_CHECK(uint64_t(pc) + cell.size <= img.pageSize);
        if (f == kTableInterior || uint64_t(cell.payloadStart) + cell.local > img.pageSize) continue;
        const std::vector<uint8_t> local(page.begin() + cell.payloadStart, page.begin() + cell.payloadStart + cell.local);
        std::string recordError;
        if (!checkRecordHeader(local.data(), cell.local, cell.payload, &recordError)) FUZZ_CHECK(!recordError.empty());
        if (decodeRecord(local.data(), cell.local, cell.payload, &columns)) {
          for (const RecordColumn& c : columns) {
            FUZZ_CHECK(c.size == 0 || (c.data >= local.data() && c.data + c.size <= local.data() + local.size()));
            FUZZ_CHECK(c.size <= serialTypeSize(c.type) && (!c.complete || c.size == serialTypeSize(c.type)));
            columnInteger(c);
            for (uint32_t enc = 1; enc <= 3; enc++) columnAscii(c, enc);
          }
        }
      }
    }
  }
}

// 5. cksumvfs on every page, and a check of the image with every checksum fixed up.
void checkCksumvfs(const Image& img, uint8_t reserved) {
  std::vector<uint8_t> fixed(size_t(img.pageCount) * img.pageSize);
  for (uint32_t n = 1; n <= img.pageCount; n++) {
    std::vector<uint8_t> page = img.page(n);
    uint8_t sum[8];
    cksumvfsCompute(page.data(), img.pageSize, sum);
    std::memcpy(page.data() + img.pageSize - kCksumvfsReserve, sum, kCksumvfsReserve);
    FUZZ_CHECK(cksumvfsMatches(page.data(), img.pageSize));
    std::memcpy(fixed.data() + size_t(n - 1) * img.pageSize, page.data(), img.pageSize);
  }
  if (reserved != kCksumvfsReserve) return;
  // The fix-up wrote the last 8 bytes of page 1 too: still the same header (it is 100 bytes).
  const Image again{fixed.data(), fixed.size(), img.pageSize, img.pageCount, img.lockPage};
  StructureCheck::Options on;
  on.cksumvfs = StructureCheck::Cksumvfs::kOn;
  const StructureCheck::Report report = runCheck(again, on, Order::kAscending);
  FUZZ_CHECK(report.cksumvfs);
  for (const StructureCheck::Finding& f : report.findings) FUZZ_CHECK(f.structure != "cksumvfs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > kMaxInput) return 0;
  DbHeader header;
  if (!decodeDbHeader(data, size, &header).isOk()) return 0;
  const uint64_t available = (uint64_t(size) + header.pageSize - 1) / header.pageSize;
  uint32_t pageCount = 0;
  if (!countPages(header, available, &pageCount).isOk() || pageCount == 0) return 0;
  const Image img{data, size, header.pageSize, pageCount, lockBytePage(header.pageSize)};

  // 1 to 3: default options in three orders, and twice in the same order.
  const StructureCheck::Options defaults;
  const StructureCheck::Report asc = runCheck(img, defaults, Order::kAscending);
  if (std::getenv("FUZZ_VERIFY_EXPECT_OK") != nullptr && !asc.ok()) {
    for (const StructureCheck::Finding& f : asc.findings) {
      std::fprintf(stderr, "finding: page %u (%s): %s\n", f.page, f.structure.c_str(), f.message.c_str());
    }
    FUZZ_CHECK(asc.ok());
  }
  FUZZ_CHECK(identical(asc, runCheck(img, defaults, Order::kAscending)));
  sameVerdict(asc, runCheck(img, defaults, Order::kDescending));
  sameVerdict(asc, runCheck(img, defaults, Order::kEvenDescending));

  // The options header byte 72 picks.
  StructureCheck::Options picked;
  const uint8_t b72 = data[72];
  picked.maxFindings = b72 & 7;
  picked.cksumvfs = (b72 >> 3) % 3 == 0   ? StructureCheck::Cksumvfs::kAuto
                    : (b72 >> 3) % 3 == 1 ? StructureCheck::Cksumvfs::kOn
                                          : StructureCheck::Cksumvfs::kOff;
  const StructureCheck::Report first = runCheck(img, picked, Order::kAscending);
  sameVerdict(first, runCheck(img, picked, Order::kNone));
  sameVerdict(first, runCheck(img, picked, Order::kOddAscending));
  // 6. a smaller maxFindings only cuts the list short: the same first findings, in order.
  if (picked.cksumvfs == defaults.cksumvfs) {
    FUZZ_CHECK(first.ok() == asc.ok() && first.findingCount == asc.findingCount);  // all are counted
    FUZZ_CHECK(first.findings.size() == std::min<size_t>(picked.maxFindings, asc.findings.size()));
    for (size_t i = 0; i < first.findings.size(); i++) {
      const StructureCheck::Finding &x = first.findings[i], &y = asc.findings[i];
      FUZZ_CHECK(x.page == y.page && x.structure == y.structure && x.message == y.message);
    }
  }

  // 4 and 5.
  checkPages(img, data[20]);
  checkCksumvfs(img, data[20]);
  return 0;
}
