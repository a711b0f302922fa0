// Big-endian integer access for on-disk structures. SQLite stores every multi-byte integer in
// the database file, journal and WAL big-endian (the -shm is native order and does not use these).
#pragma once

#include <cstdint>

namespace litevault {

inline uint16_t get2(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t get4(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline void put4(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace litevault
