// libFuzzer target: the -wal file (format/wal_format: walChecksum, decodeWalHeader,
// checkWalFrame) and the recovery walk over a real file descriptor (wal/wal_scan: scanWal).
//
// The input is a whole -wal file. It is checked three ways:
//   1. decodeWalHeader against SQLite's rules (walIndexRecover): bad magic, page size or header
//      checksum make the WAL empty; a good header of another format version is SQLITE_CANTOPEN;
//   2. walChecksum against an independent statement of the checksum (wal.c walChecksumBytes);
//   3. scanWal over a memfd holding the input against a reference walk written here from
//      walIndexRecover/walDecodeFrame: frames are read in order, each needs the header's salts,
//      a non-zero page number and the running checksum; the first bad or incomplete frame ends
//      the walk; only frames up to the last commit frame count. mxFrame, nPage, the newest page-1
//      frame, the checksum at mxFrame, the per-frame page numbers and framesInFile must all agree.
#include <cstring>

#include "format/wal_format.h"
#include "fuzz_common.h"
#include "wal/wal_scan.h"

using namespace litevault;

namespace {

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

struct RefSum {
  uint32_t s0 = 0, s1 = 0;
};

void refChecksum(bool bigEndian, const uint8_t* d, size_t n, RefSum* sum) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint32_t x0 = bigEndian ? fuzz::be32(d + i) : le32(d + i);
    const uint32_t x1 = bigEndian ? fuzz::be32(d + i + 4) : le32(d + i + 4);
    sum->s0 += x0 + sum->s1;
    sum->s1 += x1 + sum->s0;
  }
}

struct RefScan {
  bool headerValid = false;
  bool unknownVersion = false;
  uint32_t pageSize = 0;
  uint32_t framesInFile = 0;
  uint32_t mxFrame = 0;
  uint32_t nPage = 0;
  uint32_t page1Frame = 0;
  uint32_t validFrames = 0;  // frames accepted before the walk stopped, committed or not
  RefSum atMxFrame;
  std::vector<uint32_t> pages;  // page number of frames 1..mxFrame
};

RefScan referenceScan(const uint8_t* d, size_t size) {
  RefScan r;
  if (size <= 32) return r;
  const uint32_t magic = fuzz::be32(d);
  const uint32_t pageSize = fuzz::be32(d + 8);
  if ((magic & 0xfffffffe) != 0x377f0682 || (pageSize & (pageSize - 1)) != 0 || pageSize > 65536 || pageSize < 512) {
    return r;
  }
  const bool bigEndian = (magic & 1) != 0;
  RefSum sum;
  refChecksum(bigEndian, d, 24, &sum);
  if (sum.s0 != fuzz::be32(d + 24) || sum.s1 != fuzz::be32(d + 28)) return r;
  if (fuzz::be32(d + 4) != 3007000) {
    r.unknownVersion = true;
    return r;
  }
  r.headerValid = true;
  r.pageSize = pageSize;
  r.atMxFrame = sum;
  const size_t frameSize = size_t(pageSize) + 24;
  r.framesInFile = static_cast<uint32_t>((size - 32) / frameSize);
  std::vector<uint32_t> seen;
  for (uint32_t n = 1; n <= r.framesInFile; n++) {
    const uint8_t* f = d + 32 + size_t(n - 1) * frameSize;
    if (std::memcmp(f + 8, d + 16, 8) != 0) break;  // salts
    const uint32_t pgno = fuzz::be32(f);
    if (pgno == 0) break;
    refChecksum(bigEndian, f, 8, &sum);
    refChecksum(bigEndian, f + 24, pageSize, &sum);
    if (sum.s0 != fuzz::be32(f + 16) || sum.s1 != fuzz::be32(f + 20)) break;
    seen.push_back(pgno);
    if (fuzz::be32(f + 4) != 0) {
      r.mxFrame = n;
      r.nPage = fuzz::be32(f + 4);
      r.atMxFrame = sum;
    }
  }
  r.validFrames = static_cast<uint32_t>(seen.size());
  r.pages.assign(seen.begin(), seen.begin() + r.mxFrame);
  for (uint32_t n = r.mxFrame; n >= 1; n--) {
    if (r.pages[n - 1] == 1) {
      r.page1Frame = n;
      break;
    }
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 2. walChecksum, both word orders, over the whole input (floored to 8 bytes), from a seed.
  for (bool bigEndian : {false, true}) {
    std::vector<uint8_t> copy(data, data + size);
    WalChecksum ours;
    RefSum ref;
    if (size >= 8) {
      ours.s0 = ref.s0 = fuzz::be32(data);
      ours.s1 = ref.s1 = fuzz::be32(data + 4);
    }
    walChecksum(bigEndian, copy.data(), copy.size(), &ours);
    refChecksum(bigEndian, data, size, &ref);
    FUZZ_CHECK(ours.s0 == ref.s0 && ours.s1 == ref.s1);
  }

  const RefScan ref = referenceScan(data, size);

  // 1. decodeWalHeader on the first 32 bytes.
  if (size >= kWalHeaderSize) {
    uint8_t header[kWalHeaderSize];
    std::memcpy(header, data, sizeof(header));
    WalHeader h;
    WalHeaderCheck check = decodeWalHeader(header, &h);
    if (size > kWalHeaderSize) {
      FUZZ_CHECK((check == WalHeaderCheck::kValid) == ref.headerValid);
      FUZZ_CHECK((check == WalHeaderCheck::kUnknownVersion) == ref.unknownVersion);
    }
    FUZZ_CHECK(h.magic == fuzz::be32(data) && h.pageSize == fuzz::be32(data + 8));
    FUZZ_CHECK(h.salt1 == fuzz::be32(data + 16) && h.salt2 == fuzz::be32(data + 20));
    if (check == WalHeaderCheck::kValid) {
      // checkWalFrame on the first frame, if the input has one.
      const size_t frameSize = size_t(h.pageSize) + kWalFrameHeaderSize;
      if (size >= kWalHeaderSize + frameSize) {
        std::vector<uint8_t> frame(data + kWalHeaderSize, data + kWalHeaderSize + frameSize);
        WalChecksum running = h.checksum;
        WalFrameHeader fh;
        const bool valid = checkWalFrame(h, frame.data(), frame.data() + kWalFrameHeaderSize, &running, &fh);
        FUZZ_CHECK(valid == (ref.validFrames >= 1));
        FUZZ_CHECK(fh.pageNumber == fuzz::be32(frame.data()) && fh.commitPageCount == fuzz::be32(frame.data() + 4));
        if (valid) FUZZ_CHECK(running == fh.checksum && fh.pageNumber != 0);
      }
    }
  }

  // 3. scanWal through a real descriptor.
  auto file = fuzz::memFile("wal", data, size);
  // With the page-number list (recovery's call) for even sizes, without (inspect's) for odd.
  // (One call per input: scanWal allocates a 1 MiB read buffer each time, which ASan makes slow.)
  const bool withPages = size % 2 == 0;
  WalScan scan;
  std::vector<uint32_t> pages{0xdead};
  Status status = scanWal(*file, &scan, withPages ? &pages : nullptr);
  fuzz::checkStatus(status);
  if (ref.unknownVersion) {
    FUZZ_CHECK(status.code() == Code::kCantOpen);
    return 0;
  }
  FUZZ_CHECK(status.isOk());
  FUZZ_CHECK(scan.fileSize == (size == 1 ? 0 : size));  // unixFileSize: 1 byte reads as empty
  FUZZ_CHECK(scan.headerValid == ref.headerValid);
  FUZZ_CHECK(scan.framesInFile == ref.framesInFile);
  FUZZ_CHECK(scan.mxFrame == ref.mxFrame);
  FUZZ_CHECK(scan.nPage == ref.nPage);
  FUZZ_CHECK(scan.page1Frame == ref.page1Frame);
  if (withPages) FUZZ_CHECK(pages == ref.pages);
  if (ref.headerValid) {
    FUZZ_CHECK(scan.header.pageSize == ref.pageSize);
    FUZZ_CHECK(scan.checksumAtMxFrame.s0 == ref.atMxFrame.s0 && scan.checksumAtMxFrame.s1 == ref.atMxFrame.s1);
  }
  return 0;
}
