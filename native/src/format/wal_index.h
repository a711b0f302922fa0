// The wal-index (<db>-shm): SQLite's shared-memory index of the WAL (reference §5; wal.c
// walIndexHdr, WalCkptInfo, walHashGet, walFramePage, walIndexAppend, walFindFrame).
//
// It is mapped in 32 KiB regions. Values are in the machine's native byte order.
//
// Region 0 starts with a 136-byte header:
//     0  WalIndexHdr copy 0 (48 bytes)         96  nBackfill
//    48  WalIndexHdr copy 1 (48 bytes)        100  aReadMark[0..4] (u32 each; 0xffffffff unused)
//                                             120  aLock[8]: the lock bytes, never read or written
//                                             128  nBackfillAttempted (its byte 128 is the DMS lock)
//                                             132  unused
// WalIndexHdr:  0 iVersion 3007000   8 iChange   12 isInit   13 bigEndCksum   14 szPage
//              16 mxFrame           20 nPage    24 aFrameCksum[2]   32 aSalt[2] (raw WAL bytes)
//              40 aCksum[2] = native-order WAL checksum of bytes 0..39
//
// Each region k holds a page-number array then, at byte 16384, 8192 u16 hash slots. Region 0's
// array starts after the header and covers frames 1..4062; region k >= 1 covers frames
// 4062 + (k-1)*4096 + 1 .. +4096. A slot holds the frame's 1-based index within its region
// (0: empty); a page's slot is (pgno * 383) & 8191, probing forward on collision.
//
// Pure code: no I/O and no locks; callers pass the mapped memory and hold the right locks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/wal_format.h"

namespace litevault {

constexpr size_t kWalIndexRegionSize = 32768;
constexpr size_t kWalIndexHeaderSize = 136;
constexpr size_t kWalIndexHdrSize = 48;
constexpr uint32_t kWalIndexVersion = 3007000;
constexpr uint32_t kReadMarkNotUsed = 0xffffffff;
constexpr int kWalReaders = 5;  // WAL_NREADER
constexpr uint32_t kHashPageCount = 4096;             // HASHTABLE_NPAGE
constexpr uint32_t kHashSlotCount = 8192;             // HASHTABLE_NSLOT
constexpr uint32_t kHashFirstRegionPages = 4096 - 136 / 4;  // HASHTABLE_NPAGE_ONE = 4062
constexpr uint32_t kHashMultiplier = 383;             // HASHTABLE_HASH_1
constexpr size_t kHashTableOffset = 16384;            // byte offset of the slots in a region

// Offsets of the checkpoint info in region 0.
constexpr size_t kNBackfillOffset = 96;
constexpr size_t kReadMarkOffset = 100;
constexpr size_t kNBackfillAttemptedOffset = 128;

// The eight WAL locks, numbered as wal.c numbers them (WAL_WRITE_LOCK ...); where they lie in the
// -shm (byte 120 + n, and the DMS byte 128) is the os layer's business: os/shm_layout.h.
constexpr int kWriteLock = 0;
constexpr int kCheckpointLock = 1;
constexpr int kRecoverLock = 2;
inline int readLock(int i) { return 3 + i; }

// The machine's byte order: the wal-index is native, and a WAL this machine starts uses it too.
constexpr bool kNativeBigEndian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

// nBackfill, the read marks and the hash slots are shared with other processes: SQLite reads and
// writes them with relaxed atomic loads and stores (AtomicLoad/AtomicStore), and so do we.
inline uint32_t loadShmWord(const uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const uint32_t*>(p), __ATOMIC_RELAXED);
}
inline void storeShmWord(uint8_t* p, uint32_t v) { __atomic_store_n(reinterpret_cast<uint32_t*>(p), v, __ATOMIC_RELAXED); }

struct WalIndexHeader {
  uint32_t version = 0;
  uint32_t change = 0;   // iChange
  uint8_t isInit = 0;
  uint8_t bigEndianChecksum = 0;
  uint32_t pageSize = 0;  // decoded from szPage
  uint32_t mxFrame = 0;
  uint32_t nPage = 0;
  WalChecksum frameChecksum;  // aFrameCksum
  uint8_t salt[8] = {};       // aSalt as raw bytes
  WalChecksum checksum;       // aCksum
  uint8_t raw[kWalIndexHdrSize] = {};  // the 48 bytes as read or encoded
  bool sameAs(const WalIndexHeader& o) const;  // all 48 bytes equal
};

// Decodes 48 bytes; valid() checks isInit and the checksum as walIndexTryHdr does.
WalIndexHeader decodeWalIndexHeader(const uint8_t bytes[kWalIndexHdrSize]);
bool walIndexHeaderValid(const uint8_t bytes[kWalIndexHdrSize]);
// Encodes (computing aCksum) into 48 bytes, and into header->raw.
void encodeWalIndexHeader(WalIndexHeader* header, uint8_t out[kWalIndexHdrSize]);

// szPage encoding: 65536 is stored as 1.
inline uint16_t encodeIndexPageSize(uint32_t pageSize) {
  return static_cast<uint16_t>((pageSize & 0xff00) | (pageSize >> 16));
}
inline uint32_t decodeIndexPageSize(uint16_t v) { return (v & 0xfe00) + (uint32_t(v & 1) << 16); }

// Which region holds frame `frame` (walFramePage), and the frame number before its first entry.
inline uint32_t walIndexRegionOf(uint32_t frame) { return (frame + kHashPageCount - kHashFirstRegionPages - 1) / kHashPageCount; }
inline uint32_t walIndexRegionBase(uint32_t region) {
  return region == 0 ? 0 : kHashFirstRegionPages + (region - 1) * kHashPageCount;
}
// Byte offset of a region's page-number array within the region.
inline size_t walIndexPageArrayOffset(uint32_t region) { return region == 0 ? kWalIndexHeaderSize : 0; }
inline uint32_t walIndexHash(uint32_t pageNumber) { return (pageNumber * kHashMultiplier) & (kHashSlotCount - 1); }

}  // namespace litevault
