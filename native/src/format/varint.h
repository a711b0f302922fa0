// SQLite's variable-length integers (fileformat2 "varint"; btreeInt.h, util.c sqlite3GetVarint):
// 1 to 9 bytes, big-endian, 7 bits per byte with the high bit meaning "more follows"; a 9th byte
// gives all 8 of its bits. Readers here are bounded by `end` (a page image has no padding past
// its last byte, unlike SQLite's page buffers): they return 0 when the varint runs past it.
// Pure code: no I/O, safe to fuzz.
#pragma once

#include <cstdint>

namespace litevault {

// A 64-bit varint (rowids, record header sizes and serial types). Returns its length, 0 if cut.
inline uint32_t getVarint(const uint8_t* p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < 8; i++) {
    if (p + i >= end) return 0;
    v = (v << 7) | (p[i] & 0x7f);
    if ((p[i] & 0x80) == 0) {
      *out = v;
      return i + 1;
    }
  }
  if (p + 8 >= end) return 0;
  *out = (v << 8) | p[8];
  return 9;
}

// A cell's payload size as btreeParseCellPtr reads it: up to 9 bytes of 7 bits each, kept in 32
// bits (a corrupt size wraps as it does in SQLite). Returns its length, 0 if cut.
inline uint32_t getPayloadVarint(const uint8_t* p, const uint8_t* end, uint32_t* out) {
  if (p >= end) return 0;
  uint32_t v = p[0];
  uint32_t n = 1;
  if (v >= 0x80) {
    v &= 0x7f;
    do {
      if (p + n >= end) return 0;
      v = (v << 7) | (p[n] & 0x7f);
      n++;
    } while (p[n - 1] >= 0x80 && n < 9);
  }
  *out = v;
  return n;
}

}  // namespace litevault
