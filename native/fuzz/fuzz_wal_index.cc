// libFuzzer target: the wal-index (-shm) header and its helpers (format/wal_index:
// decodeWalIndexHeader, walIndexHeaderValid, encodeWalIndexHeader, the szPage encoding, and the
// frame -> region / hash-slot arithmetic of walFramePage, walHashGet and walHash).
//
// The input is the start of a -shm file. Checks, besides the sanitizers:
//   * every decoded field is the native-order value at its offset (wal.c WalIndexHdr);
//   * walIndexHeaderValid agrees with walIndexTryHdr's rule, written out here: isInit != 0 and
//     aCksum = the native-order WAL checksum of bytes 0..39;
//   * encode(decode(x)) is valid and decodes to the same fields, and reproduces x byte for byte
//     when x is a valid header in canonical form (unused bytes 4..7 zero, szPage canonical);
//   * for any frame, its region's first frame < frame <= its last, and hash slots are in range.
#include <cstring>

#include "format/wal_format.h"
#include "format/wal_index.h"
#include "os/shm_layout.h"
#include "fuzz_common.h"

using namespace litevault;

namespace {

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

bool referenceValid(const uint8_t* b) {
  if (b[12] == 0) return false;
  uint32_t s0 = 0, s1 = 0;
  for (int i = 0; i < 40; i += 8) {  // native order words
    s0 += load32(b + i) + s1;
    s1 += load32(b + i + 4) + s0;
  }
  return s0 == load32(b + 40) && s1 == load32(b + 44);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // szPage: every valid page size survives encode/decode; any u16 decodes to a multiple of 512.
  if (size >= 2) {
    uint16_t raw;
    std::memcpy(&raw, data, 2);
    const uint32_t decoded = decodeIndexPageSize(raw);
    FUZZ_CHECK(decoded % 512 == 0 && decoded <= 65536 + 0xfe00);
    const uint32_t ps = 512u << (data[0] % 8);
    FUZZ_CHECK(decodeIndexPageSize(encodeIndexPageSize(ps)) == ps);
  }

  // Region arithmetic for a frame number taken from the input.
  if (size >= 4) {
    const uint32_t frame = load32(data) % (UINT32_MAX - 8192) + 1;
    const uint32_t region = walIndexRegionOf(frame);
    const uint32_t base = walIndexRegionBase(region);
    const uint32_t capacity = region == 0 ? kHashFirstRegionPages : kHashPageCount;
    FUZZ_CHECK(base < frame && frame <= base + capacity);
    FUZZ_CHECK(walIndexPageArrayOffset(region) + 4 * size_t(capacity) <= kHashTableOffset);
    FUZZ_CHECK(walIndexHash(load32(data)) < kHashSlotCount);
  }

  if (size < kWalIndexHdrSize) return 0;
  uint8_t bytes[kWalIndexHdrSize];
  std::memcpy(bytes, data, sizeof(bytes));
  const bool valid = walIndexHeaderValid(bytes);
  FUZZ_CHECK(valid == referenceValid(data));
  WalIndexHeader h = decodeWalIndexHeader(bytes);
  FUZZ_CHECK(std::memcmp(h.raw, data, kWalIndexHdrSize) == 0);
  FUZZ_CHECK(h.version == load32(data) && h.change == load32(data + 8));
  FUZZ_CHECK(h.isInit == data[12] && h.bigEndianChecksum == data[13]);
  uint16_t szPage;
  std::memcpy(&szPage, data + 14, 2);
  FUZZ_CHECK(h.pageSize == decodeIndexPageSize(szPage));
  FUZZ_CHECK(h.mxFrame == load32(data + 16) && h.nPage == load32(data + 20));
  FUZZ_CHECK(h.frameChecksum.s0 == load32(data + 24) && h.frameChecksum.s1 == load32(data + 28));
  FUZZ_CHECK(std::memcmp(h.salt, data + 32, 8) == 0);
  FUZZ_CHECK(h.checksum.s0 == load32(data + 40) && h.checksum.s1 == load32(data + 44));
  FUZZ_CHECK(h.sameAs(h));

  // Re-encoding.
  WalIndexHeader copy = h;
  uint8_t out[kWalIndexHdrSize];
  std::memset(out, 0xcc, sizeof(out));
  encodeWalIndexHeader(&copy, out);
  FUZZ_CHECK(std::memcmp(copy.raw, out, sizeof(out)) == 0);
  FUZZ_CHECK(walIndexHeaderValid(out) == (h.isInit != 0));
  FUZZ_CHECK(referenceValid(out) == (h.isInit != 0));
  WalIndexHeader back = decodeWalIndexHeader(out);
  FUZZ_CHECK(back.version == h.version && back.change == h.change && back.isInit == h.isInit &&
             back.bigEndianChecksum == h.bigEndianChecksum && back.pageSize == h.pageSize &&
             back.mxFrame == h.mxFrame && back.nPage == h.nPage && back.frameChecksum == h.frameChecksum &&
             std::memcmp(back.salt, h.salt, 8) == 0);
  const bool canonical = load32(data + 4) == 0 && encodeIndexPageSize(h.pageSize) == szPage;
  if (valid && canonical) FUZZ_CHECK(std::memcmp(out, data, kWalIndexHdrSize) == 0);
  FUZZ_CHECK(h.sameAs(back) == (std::memcmp(out, data, kWalIndexHdrSize) == 0));

  // A region-0-sized view: the two header copies and the checkpoint info never overlap.
  static_assert(2 * kWalIndexHdrSize == kNBackfillOffset, "header copies then nBackfill");
  static_assert(kReadMarkOffset + 4 * kWalReaders <= kShmLockBase, "read marks before the lock bytes");
  static_assert(kNBackfillAttemptedOffset + 4 <= kWalIndexHeaderSize, "nBackfillAttempted in the header");
  return 0;
}
