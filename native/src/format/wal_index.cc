// wal-index header encoding; see wal_index.h.
#include "format/wal_index.h"

#include <cstring>

namespace litevault {
namespace {

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

WalChecksum nativeChecksum(const uint8_t* bytes) {
  WalChecksum c;
  walChecksum(kNativeBigEndian, bytes, 40, &c);
  return c;
}

}  // namespace

bool WalIndexHeader::sameAs(const WalIndexHeader& o) const {
  return std::memcmp(raw, o.raw, kWalIndexHdrSize) == 0;
}

WalIndexHeader decodeWalIndexHeader(const uint8_t b[kWalIndexHdrSize]) {
  WalIndexHeader h;
  h.version = load32(b);
  h.change = load32(b + 8);
  h.isInit = b[12];
  h.bigEndianChecksum = b[13];
  uint16_t szPage;
  std::memcpy(&szPage, b + 14, 2);
  h.pageSize = decodeIndexPageSize(szPage);
  h.mxFrame = load32(b + 16);
  h.nPage = load32(b + 20);
  h.frameChecksum.s0 = load32(b + 24);
  h.frameChecksum.s1 = load32(b + 28);
  std::memcpy(h.salt, b + 32, 8);
  h.checksum.s0 = load32(b + 40);
  h.checksum.s1 = load32(b + 44);
  std::memcpy(h.raw, b, kWalIndexHdrSize);
  return h;
}

bool walIndexHeaderValid(const uint8_t b[kWalIndexHdrSize]) {
  if (b[12] == 0) return false;  // isInit
  WalChecksum c = nativeChecksum(b);
  return c.s0 == load32(b + 40) && c.s1 == load32(b + 44);
}

void encodeWalIndexHeader(WalIndexHeader* header, uint8_t out[kWalIndexHdrSize]) {
  const WalIndexHeader& h = *header;
  std::memset(out, 0, kWalIndexHdrSize);
  store32(out, h.version);
  store32(out + 8, h.change);
  out[12] = h.isInit;
  out[13] = h.bigEndianChecksum;
  uint16_t szPage = encodeIndexPageSize(h.pageSize);
  std::memcpy(out + 14, &szPage, 2);
  store32(out + 16, h.mxFrame);
  store32(out + 20, h.nPage);
  store32(out + 24, h.frameChecksum.s0);
  store32(out + 28, h.frameChecksum.s1);
  std::memcpy(out + 32, h.salt, 8);
  WalChecksum c = nativeChecksum(out);
  store32(out + 40, c.s0);
  store32(out + 44, c.s1);
  header->checksum = c;
  std::memcpy(header->raw, out, kWalIndexHdrSize);
}

}  // namespace litevault
