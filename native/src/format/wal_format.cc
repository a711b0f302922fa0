// WAL header and frame decoding and the WAL checksum; see wal_format.h.
#include "format/wal_format.h"

#include "format/byte_order.h"

namespace litevault {
namespace {
inline uint32_t getLe4(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
}  // namespace

void walChecksum(bool bigEndianWords, const uint8_t* data, size_t size, WalChecksum* running) {
  uint32_t s0 = running->s0;
  uint32_t s1 = running->s1;
  const uint8_t* end = data + (size & ~size_t(7));
  if (bigEndianWords) {
    for (const uint8_t* p = data; p < end; p += 8) {
      s0 += get4(p) + s1;
      s1 += get4(p + 4) + s0;
    }
  } else {
    for (const uint8_t* p = data; p < end; p += 8) {
      s0 += getLe4(p) + s1;
      s1 += getLe4(p + 4) + s0;
    }
  }
  running->s0 = s0;
  running->s1 = s1;
}

WalHeaderCheck decodeWalHeader(const uint8_t b[kWalHeaderSize], WalHeader* out) {
  WalHeader h;
  h.magic = get4(b);
  h.formatVersion = get4(b + 4);
  h.pageSize = get4(b + 8);
  h.checkpointSequence = get4(b + 12);
  h.salt1 = get4(b + 16);
  h.salt2 = get4(b + 20);
  h.checksum.s0 = get4(b + 24);
  h.checksum.s1 = get4(b + 28);
  *out = h;
  if ((h.magic & ~1u) != kWalMagic) return WalHeaderCheck::kInvalid;
  if (h.pageSize < 512 || h.pageSize > 65536 || (h.pageSize & (h.pageSize - 1)) != 0) {
    return WalHeaderCheck::kInvalid;
  }
  WalChecksum computed;
  walChecksum(h.bigEndianChecksums(), b, 24, &computed);
  if (!(computed == h.checksum)) return WalHeaderCheck::kInvalid;
  if (h.formatVersion != kWalFormatVersion) return WalHeaderCheck::kUnknownVersion;
  return WalHeaderCheck::kValid;
}

bool checkWalFrame(const WalHeader& header, const uint8_t fh[kWalFrameHeaderSize], const uint8_t* page,
                   WalChecksum* running, WalFrameHeader* out) {
  WalFrameHeader f;
  f.pageNumber = get4(fh);
  f.commitPageCount = get4(fh + 4);
  f.salt1 = get4(fh + 8);
  f.salt2 = get4(fh + 12);
  f.checksum.s0 = get4(fh + 16);
  f.checksum.s1 = get4(fh + 20);
  *out = f;
  if (f.salt1 != header.salt1 || f.salt2 != header.salt2 || f.pageNumber == 0) return false;
  walChecksum(header.bigEndianChecksums(), fh, 8, running);
  walChecksum(header.bigEndianChecksums(), page, header.pageSize, running);
  return *running == f.checksum;
}

}  // namespace litevault
