// SQLite's cksumvfs page checksums; see cksumvfs.h.
#include "verify/cksumvfs.h"

#include <cstring>

#include "format/byte_order.h"

namespace litevault {
namespace {

inline uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline void putLe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

}  // namespace

void cksumvfsCompute(const uint8_t* page, uint32_t pageSize, uint8_t out[8]) {
  uint32_t s1 = 0, s2 = 0;
  const uint32_t n = pageSize - kCksumvfsReserve;
  for (uint32_t i = 0; i + 8 <= n; i += 8) {
    s1 += le32(page + i) + s2;
    s2 += le32(page + i + 4) + s1;
  }
  putLe32(out, s1);
  putLe32(out + 4, s2);
}

bool cksumvfsMatches(const uint8_t* page, uint32_t pageSize) {
  uint8_t sum[8];
  cksumvfsCompute(page, pageSize, sum);
  return std::memcmp(sum, page + pageSize - kCksumvfsReserve, kCksumvfsReserve) == 0;
}

bool setCopyPageCount(uint8_t* page1, uint32_t pageSize, uint32_t pageCount) {
  const bool cksumvfs = page1[20] == kCksumvfsReserve && cksumvfsMatches(page1, pageSize);
  put4(page1 + 28, pageCount);
  if (cksumvfs) cksumvfsCompute(page1, pageSize, page1 + pageSize - kCksumvfsReserve);
  return cksumvfs;
}

}  // namespace litevault
