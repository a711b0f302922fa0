// Vault objects (docs/vault-format.md, version 1): pure encode/decode of packs and manifests,
// and the XXH3-128 checksum in xxHash's canonical (big-endian) byte order. No I/O: every
// function works on bytes in memory, so the decoders can be fuzzed (native/fuzz/fuzz_vault_manifest.cc).
//
//   pack      magic LVPACK\0\1 | u32 version 1 | u32 pageSize | u32 slotCount | u32 compression
//             | u64 payload length n | payload (n bytes) | XXH3-128 of everything before it
//   manifest  magic LVMANI\0\1 | u32 version 1 | u32 metaLength m | meta (m bytes of JSON)
//             | u32 runCount r | r x {firstPage, pages, pack, firstSlot} | p x 16-byte page hash
//             | XXH3-128 of everything before it
// All integers little-endian. The "table" is the manifest's section from runCount to the last
// page hash: the scan (vault_scan.h) produces it, encodeManifest() wraps it.
//
// Decoding checks, in this order: length, magic, version (an unknown version is
// LITEVAULT_UNSUPPORTED_FORMAT, before the checksum, whose place a later version may move),
// checksum, then structure. Every other failure is LITEVAULT_VAULT_CORRUPT "<label>: <what>".
// A decoded manifest satisfies: meta is a JSON object with a valid pageSize, pageCount and
// packs[{key, bytes, slots}]; runs are sorted by firstPage, non-empty, non-overlapping, within
// 1..pageCount, never include the lock-byte page, point into an existing pack's slots; the
// hash count equals the pages the runs list.
//
// Thread safety: plain functions on caller-owned data; call them from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/status.h"

namespace litevault {

constexpr uint32_t kVaultFormatVersion = 1;
constexpr size_t kVaultChecksumSize = 16;
constexpr size_t kPackHeaderSize = 32;
constexpr size_t kManifestHeaderSize = 16;  // magic, version, metaLength
constexpr size_t kRunSize = 16;
constexpr size_t kPageHashSize = 16;
// A pack holds at most this many bytes of page images (fewer slots for large pages).
constexpr size_t kMaxPackPageBytes = size_t(8) << 20;
// The biggest pack object: header, kMaxPackPageBytes of raw images (a payload zstd cannot shrink
// is stored raw), checksum.
constexpr size_t kMaxPackBytes = kPackHeaderSize + kMaxPackPageBytes + kVaultChecksumSize;
constexpr size_t kMaxMetaBytes = size_t(16) << 20;  // a sanity bound on a manifest's JSON

extern const uint8_t kPackMagic[8];
extern const uint8_t kManifestMagic[8];

enum class PackCompression : uint32_t { kNone = 0, kZstd = 1 };

// XXH3-128 (seed 0) in canonical form: the 16 bytes the format stores.
struct Hash128 {
  uint8_t bytes[16] = {};
  bool operator==(const Hash128& o) const { return std::memcmp(bytes, o.bytes, 16) == 0; }
  bool operator!=(const Hash128& o) const { return !(*this == o); }
};
struct Hash128Hasher {  // for unordered containers: the hash is already uniform
  size_t operator()(const Hash128& h) const {
    size_t v;
    std::memcpy(&v, h.bytes, sizeof(v));
    return v;
  }
};

Hash128 hash128(const void* data, size_t n);
// 32 lowercase hex digits.
std::string hexOf(const Hash128& h);
// Parses exactly 32 hex digits (either case); false otherwise.
bool parseHash(const std::string& hex, Hash128* out);

// Whether pageSize is a power of two 512..65536.
bool validPageSize(uint32_t pageSize);

// One run of a manifest: pages firstPage..firstPage+pages-1 are slots firstSlot.. of pack `pack`.
struct ManifestRun {
  uint32_t firstPage = 0;
  uint32_t pages = 0;
  uint32_t pack = 0;
  uint32_t firstSlot = 0;
};

// The members of a manifest's meta that the native side uses (the rest is TypeScript's).
struct ManifestPack {
  Hash128 key;
  uint64_t bytes = 0;
  uint32_t slots = 0;
};
struct ManifestMeta {
  uint32_t pageSize = 0;
  uint32_t pageCount = 0;
  std::vector<ManifestPack> packs;
};

struct DecodedManifest {
  std::string metaJson;  // the meta exactly as stored
  ManifestMeta meta;
  std::vector<ManifestRun> runs;
  std::vector<Hash128> hashes;  // one per listed page, in run order
  uint64_t pages = 0;           // pages the runs list (== hashes.size())
};

// Decodes and checks a whole manifest object (see the top of this file). `label` names it in
// messages ("backups/app/0000000007.manifest"). Errors: LITEVAULT_UNSUPPORTED_FORMAT,
// LITEVAULT_VAULT_CORRUPT.
Status decodeManifest(const uint8_t* data, size_t n, const std::string& label, DecodedManifest* out);

// Appends the table section (runCount, runs, hashes) for runs/hashes to *out.
void encodeTable(const std::vector<ManifestRun>& runs, const std::vector<Hash128>& hashes, std::vector<uint8_t>* out);

// Builds a manifest object from meta JSON and a table section, then decodes the result as a
// reader would; a table or meta that would not decode is SQLITE_MISUSE with the reason.
Status encodeManifest(const std::string& metaJson, const uint8_t* table, size_t tableLength, std::vector<uint8_t>* out);

// A pack's header fields.
struct PackHeader {
  uint32_t pageSize = 0;
  uint32_t slotCount = 0;
  PackCompression compression = PackCompression::kNone;
  uint64_t payloadLength = 0;
};

// Writes the 32-byte header for h into out[0..32).
void encodePackHeader(const PackHeader& h, uint8_t* out);

// Checks a whole pack object: length, magic, version (LITEVAULT_UNSUPPORTED_FORMAT), header
// (page size, slot count, at most kMaxPackPageBytes of pages, compression, payload length ==
// the bytes present, a raw payload's length == slots x page size), checksum. *payload points
// into data. Errors: LITEVAULT_UNSUPPORTED_FORMAT, LITEVAULT_VAULT_CORRUPT "<label>: <what>".
Status decodePack(const uint8_t* data, size_t n, const std::string& label, PackHeader* header, const uint8_t** payload,
                  Hash128* checksum);

// Little-endian access for vault objects (SQLite's own files are big-endian: format/byte_order.h).
inline uint32_t getLe32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t getLe64(const uint8_t* p) { return uint64_t(getLe32(p)) | (uint64_t(getLe32(p + 4)) << 32); }
inline void putLe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}
inline void putLe64(uint8_t* p, uint64_t v) {
  putLe32(p, uint32_t(v));
  putLe32(p + 4, uint32_t(v >> 32));
}

}  // namespace litevault
