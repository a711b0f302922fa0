// Log segments (docs/vault-format.md "Logs", "Segment"): pure encode and decode/verify of the
// object that holds a run of consecutive WAL transactions of one name. No I/O: every function
// works on bytes in memory, so the decoder can be fuzzed (native/fuzz/fuzz_log_segment.cc).
//
//   segment  magic LVSEGM\0\1 | u32 version 1 | u32 pageSize | u32 salt1 | u32 salt2
//            | u64 firstTxid | u64 lastTxid | u32 compression | u32 reserved 0
//            | u64 payload length n | payload (n bytes: the records, raw or ONE zstd frame)
//            | XXH3-128 of everything before it (the object's key)
//   record   u64 txid | i64 recordedAt | u32 endFrame | u32 pageCount | u32 k
//            | k x {u32 page number, pageSize bytes of image}
// All integers little-endian.
//
// Decoding checks, in this order: length, magic, version (an unknown version is
// LITEVAULT_UNSUPPORTED_FORMAT, before the checksum, as for packs: a later version may move it),
// checksum, the checksum against the key the caller expects, the header (page size a power of
// two 512..65536, 1 <= firstTxid <= lastTxid <= 2^53-1, compression 0/1, reserved 0, payload
// length == the bytes present), the payload (zstd: one frame filling it exactly, declaring a
// content size <= kMaxSegmentRecordsBytes and decompressing to exactly that; raw: at most that
// bound too), then the records (parseSegmentRecords). Every other failure is
// LITEVAULT_VAULT_CORRUPT "segment <key>: <what>".
//
// A decoded segment satisfies: one record per txid firstTxid..lastTxid, in order, with nothing
// between or after them; every record has pageCount >= 1 and k >= 1 pages whose numbers are
// strictly increasing, >= 1 and never the lock-byte page (the page holding byte offset 2^30);
// every page image lies inside the records. A page number may exceed its record's pageCount
// (a spilled frame of a page the commit then cut off): a reader applying the record skips it.
//
// Thread safety: plain functions on caller-owned data; call them from any thread. A
// Decompressor passed in belongs to the caller, who serializes its use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/byte_buffer.h"
#include "base/status.h"
#include "vault/compress.h"
#include "vault/vault_format.h"

namespace litevault {

constexpr uint32_t kSegmentFormatVersion = 1;
constexpr size_t kSegmentHeaderSize = 56;
constexpr size_t kSegmentRecordHeaderSize = 28;  // txid, recordedAt, endFrame, pageCount, k
constexpr size_t kSegmentPageNumberSize = 4;
// The records of one segment, raw or decompressed, are at most this many bytes (the format's
// bound on the zstd content size; a writer never makes a raw segment bigger either).
constexpr uint64_t kMaxSegmentRecordsBytes = uint64_t(512) << 20;
// Txids are JavaScript numbers on the TypeScript side: exact integers only.
constexpr uint64_t kMaxTxid = (uint64_t(1) << 53) - 1;

extern const uint8_t kSegmentMagic[8];

struct SegmentHeader {
  uint32_t pageSize = 0;
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  uint64_t firstTxid = 0;
  uint64_t lastTxid = 0;
  PackCompression compression = PackCompression::kNone;
  uint64_t payloadLength = 0;
};

// One record as parsed: its fields, and where its first page entry starts in the records.
struct SegmentRecord {
  uint64_t txid = 0;
  int64_t recordedAt = 0;
  uint32_t endFrame = 0;
  uint32_t pageCount = 0;
  uint32_t pages = 0;   // k
  size_t offset = 0;    // of page entry 0 (its page number) from the start of the records
};

// Page entry i of record r in `records` (the bytes parseSegmentRecords checked).
inline uint32_t segmentPageNumber(const uint8_t* records, uint32_t pageSize, const SegmentRecord& r, uint32_t i) {
  return getLe32(records + r.offset + size_t(i) * (kSegmentPageNumberSize + pageSize));
}
inline const uint8_t* segmentPageImage(const uint8_t* records, uint32_t pageSize, const SegmentRecord& r, uint32_t i) {
  return records + r.offset + size_t(i) * (kSegmentPageNumberSize + pageSize) + kSegmentPageNumberSize;
}

// Parses and checks records[0..n): one record per txid firstTxid..lastTxid in order, the rules
// at the top of this file, nothing after the last. `label` names the object in messages
// ("segment <key>"). Errors: LITEVAULT_VAULT_CORRUPT "<label>: <what>".
Status parseSegmentRecords(const uint8_t* records, size_t n, uint32_t pageSize, uint64_t firstTxid, uint64_t lastTxid,
                           const std::string& label, std::vector<SegmentRecord>* out);

// A decoded segment. `records` points into the object given to decodeSegment (raw payload) or
// into `decompressed` (zstd), so it lives as long as both; not copyable, movable (a ByteBuffer's
// bytes do not move with it).
struct DecodedSegment {
  SegmentHeader header;
  Hash128 checksum;
  std::unique_ptr<ByteBuffer> decompressed;  // zstd payloads only
  const uint8_t* records = nullptr;
  size_t recordsLength = 0;
  std::vector<SegmentRecord> list;  // one per txid, in order

  DecodedSegment() = default;
  DecodedSegment(DecodedSegment&&) = default;
  DecodedSegment& operator=(DecodedSegment&&) = default;
  DecodedSegment(const DecodedSegment&) = delete;
  DecodedSegment& operator=(const DecodedSegment&) = delete;
};

// Decodes and verifies a whole segment object against the key it is stored under (`key`: the
// index entry's "segment"; messages say "segment <hex of key>"). `decompressor` is used for zstd
// payloads. Errors: LITEVAULT_UNSUPPORTED_FORMAT (version), LITEVAULT_VAULT_CORRUPT, SQLITE_NOMEM.
Status decodeSegment(const uint8_t* data, size_t n, const Hash128& key, Decompressor* decompressor, DecodedSegment* out);

// What encodeSegment makes.
struct SegmentEncodeOptions {
  uint32_t pageSize = 0;
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  uint64_t firstTxid = 0;
  uint64_t lastTxid = 0;
  bool compress = true;  // zstd, unless the frame would not be smaller than the records
  int level = -1;        // zstd's level (compress.h)
};

// Builds a segment from the concatenation of `parts` (each holds whole records, as the WAL
// follower produces them): checks the records as a reader would (parseSegmentRecords against
// the options' txids and page size), compresses them into one zstd frame with its content size
// (or stores them raw when that is not smaller), appends the checksum, and decodes the result as
// a reader would. *key is the checksum. Errors: SQLITE_MISUSE (bad options; records that do not
// parse, with the reason; records over kMaxSegmentRecordsBytes), SQLITE_NOMEM, SQLITE_INTERNAL.
Status encodeSegment(const SegmentEncodeOptions& options, const std::vector<std::pair<const uint8_t*, size_t>>& parts,
                     std::vector<uint8_t>* out, Hash128* key);

}  // namespace litevault
