// The -wal file: a 32-byte header, then frames of a 24-byte header plus one page
// (reference §4; wal.c header comment, walChecksumBytes, walDecodeFrame, walIndexRecover).
//
// WAL header (big-endian u32s):          frame header (big-endian u32s):
//   0 magic 0x377f0682 | 0x377f0683        0 page number (> 0)
//   4 format version 3007000               4 db size in pages after commit (commit frame), else 0
//   8 page size (65536 stored as is)       8 salt-1, 12 salt-2 (copies of the WAL header's)
//  12 checkpoint sequence                 16 cumulative checksum-1, 20 checksum-2
//  16 salt-1, 20 salt-2
//  24 checksum-1, 28 checksum-2 over bytes 0..23
//
// Checksums: the input is read as u32 words, big-endian when the magic's low bit is 1 and
// little-endian when it is 0; for each pair (x0, x1): s0 += x0 + s1; s1 += x1 + s0 (mod 2^32).
// The chain starts at (0,0) for the header, continues from the header's values into frame 1's
// first 8 header bytes and page, and so on frame after frame.
//
// A frame is valid when its salts equal the header's, its page number is non-zero and the running
// checksum matches. Readers stop at the first invalid frame, and only frames up to the last
// valid commit frame count. Pure code: no I/O, safe to fuzz.
#pragma once

#include <cstddef>
#include <cstdint>

namespace litevault {

constexpr uint32_t kWalMagic = 0x377f0682;  // | 1 for big-endian checksums
constexpr uint32_t kWalFormatVersion = 3007000;
constexpr size_t kWalHeaderSize = 32;
constexpr size_t kWalFrameHeaderSize = 24;

struct WalChecksum {
  uint32_t s0 = 0;
  uint32_t s1 = 0;
  bool operator==(const WalChecksum& o) const { return s0 == o.s0 && s1 == o.s1; }
};

// Continues the running checksum over `size` bytes (size must be a multiple of 8).
void walChecksum(bool bigEndianWords, const uint8_t* data, size_t size, WalChecksum* running);

struct WalHeader {
  uint32_t magic = 0;
  uint32_t formatVersion = 0;
  uint32_t pageSize = 0;
  uint32_t checkpointSequence = 0;
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  WalChecksum checksum;  // stored at 24/28; the chain's starting point for frame 1
  bool bigEndianChecksums() const { return (magic & 1) != 0; }
};

enum class WalHeaderCheck {
  kValid,
  kInvalid,          // bad magic, page size or checksum: SQLite treats the WAL as empty
  kUnknownVersion,   // checksum good but version != 3007000: SQLite fails with SQLITE_CANTOPEN
};
WalHeaderCheck decodeWalHeader(const uint8_t bytes[kWalHeaderSize], WalHeader* out);

struct WalFrameHeader {
  uint32_t pageNumber = 0;
  uint32_t commitPageCount = 0;  // non-zero only on a commit frame
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  WalChecksum checksum;
};

// Checks one frame against the header and the running checksum. On success `running` becomes
// the frame's checksum and true is returned; on failure `running` is unspecified.
bool checkWalFrame(const WalHeader& header, const uint8_t frameHeader[kWalFrameHeaderSize],
                   const uint8_t* page, WalChecksum* running, WalFrameHeader* out);

// Byte offset of frame n (1-based).
inline uint64_t walFrameOffset(uint32_t frame, uint32_t pageSize) {
  return kWalHeaderSize + uint64_t(frame - 1) * (uint64_t(pageSize) + kWalFrameHeaderSize);
}

}  // namespace litevault
