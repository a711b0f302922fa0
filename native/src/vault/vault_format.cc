// Pack and manifest encode/decode and the XXH3-128 checksum; see vault_format.h. This is the one
// translation unit that compiles xxHash (header-only, inlined here: XXH_INLINE_ALL).
#include "vault/vault_format.h"


#define XXH_INLINE_ALL
#include <xxhash.h>

#include "format/db_header.h"
#include "vault/meta_json.h"

namespace litevault {

const uint8_t kPackMagic[8] = {0x4c, 0x56, 0x50, 0x41, 0x43, 0x4b, 0x00, 0x01};      // LVPACK\0\1
const uint8_t kManifestMagic[8] = {0x4c, 0x56, 0x4d, 0x41, 0x4e, 0x49, 0x00, 0x01};  // LVMANI\0\1

namespace {

Status corrupt(const std::string& label, const std::string& what) {
  return Status::error(Code::kVaultCorrupt, label + ": " + what);
}

}  // namespace

Hash128 hash128(const void* data, size_t n) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(data, n));
  Hash128 h;
  static_assert(sizeof(canonical.digest) == sizeof(h.bytes), "XXH128 canonical form is 16 bytes");
  std::memcpy(h.bytes, canonical.digest, sizeof(h.bytes));
  return h;
}

std::string hexOf(const Hash128& h) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (size_t i = 0; i < 16; i++) {
    out[2 * i] = kDigits[h.bytes[i] >> 4];
    out[2 * i + 1] = kDigits[h.bytes[i] & 15];
  }
  return out;
}

bool parseHash(const std::string& hex, Hash128* out) {
  if (hex.size() != 32) return false;
  for (size_t i = 0; i < 32; i++) {
    const char c = hex[i];
    uint8_t v;
    if (c >= '0' && c <= '9') v = uint8_t(c - '0');
    else if (c >= 'a' && c <= 'f') v = uint8_t(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v = uint8_t(c - 'A' + 10);
    else return false;
    if (i % 2 == 0) out->bytes[i / 2] = uint8_t(v << 4);
    else out->bytes[i / 2] = uint8_t(out->bytes[i / 2] | v);
  }
  return true;
}

bool validPageSize(uint32_t pageSize) {
  return pageSize >= 512 && pageSize <= 65536 && (pageSize & (pageSize - 1)) == 0;
}

Status decodeManifest(const uint8_t* data, size_t n, const std::string& label, DecodedManifest* out) {
  *out = DecodedManifest();
  // The smallest manifest: header, empty meta, runCount, checksum.
  if (n < kManifestHeaderSize + 4 + kVaultChecksumSize) {
    return corrupt(label, "truncated manifest (" + std::to_string(n) + " bytes)");
  }
  if (std::memcmp(data, kManifestMagic, sizeof(kManifestMagic)) != 0) return corrupt(label, "not a litevault manifest (bad magic)");
  const uint32_t version = getLe32(data + 8);
  if (version != kVaultFormatVersion) {
    return Status::error(Code::kUnsupportedFormat, label + ": manifest format version " + std::to_string(version) +
                                                      " (this litevault reads version " + std::to_string(kVaultFormatVersion) + ")");
  }
  const Hash128 sum = hash128(data, n - kVaultChecksumSize);
  if (std::memcmp(sum.bytes, data + n - kVaultChecksumSize, kVaultChecksumSize) != 0) {
    return corrupt(label, "checksum mismatch (the manifest is damaged or truncated)");
  }
  const uint64_t metaLength = getLe32(data + 12);
  const uint64_t body = n - kVaultChecksumSize;  // bytes before the checksum
  if (kManifestHeaderSize + metaLength + 4 > body) return corrupt(label, "meta length " + std::to_string(metaLength) + " runs past the end");
  if (metaLength > kMaxMetaBytes) return corrupt(label, "meta of " + std::to_string(metaLength) + " bytes");
  const char* meta = reinterpret_cast<const char*>(data + kManifestHeaderSize);
  std::string what;
  if (!parseManifestMeta(meta, size_t(metaLength), &out->meta, &what)) return corrupt(label, what);
  out->metaJson.assign(meta, size_t(metaLength));

  const uint8_t* table = data + kManifestHeaderSize + metaLength;
  const uint64_t runCount = getLe32(table);
  const uint64_t tableBytes = body - kManifestHeaderSize - metaLength;  // runCount .. last hash
  if (4 + runCount * kRunSize > tableBytes) return corrupt(label, std::to_string(runCount) + " runs do not fit in the manifest");
  const uint64_t hashBytes = tableBytes - 4 - runCount * kRunSize;
  if (hashBytes % kPageHashSize != 0) return corrupt(label, "the page hashes are not a whole number of 16-byte hashes");
  const uint64_t hashCount = hashBytes / kPageHashSize;

  const ManifestMeta& m = out->meta;
  const uint32_t lockPage = lockBytePage(m.pageSize);
  out->runs.resize(size_t(runCount));
  uint64_t pages = 0;
  uint64_t nextFree = 1;  // the first page a run may start at (sorted, non-overlapping)
  for (uint64_t i = 0; i < runCount; i++) {
    const uint8_t* r = table + 4 + i * kRunSize;
    ManifestRun& run = out->runs[size_t(i)];
    run.firstPage = getLe32(r);
    run.pages = getLe32(r + 4);
    run.pack = getLe32(r + 8);
    run.firstSlot = getLe32(r + 12);
    const std::string which = "run " + std::to_string(i) + " (pages " + std::to_string(run.firstPage) + "+" + std::to_string(run.pages) + ")";
    const uint64_t last = uint64_t(run.firstPage) + run.pages - 1;
    if (run.pages == 0) return corrupt(label, which + " is empty");
    if (run.firstPage < nextFree) return corrupt(label, which + " is out of order or overlaps the run before it");
    if (last > m.pageCount) return corrupt(label, which + " goes past the page count " + std::to_string(m.pageCount));
    if (run.firstPage <= lockPage && lockPage <= last) return corrupt(label, which + " includes the lock-byte page " + std::to_string(lockPage));
    if (run.pack >= m.packs.size()) return corrupt(label, which + " names pack " + std::to_string(run.pack) + " of " + std::to_string(m.packs.size()));
    if (uint64_t(run.firstSlot) + run.pages > m.packs[run.pack].slots) {
      return corrupt(label, which + " names slots past the " + std::to_string(m.packs[run.pack].slots) + " of pack " + std::to_string(run.pack));
    }
    nextFree = last + 1;
    pages += run.pages;
  }
  if (pages != hashCount) {
    return corrupt(label, "the runs list " + std::to_string(pages) + " pages but the manifest has " + std::to_string(hashCount) + " page hashes");
  }
  out->pages = pages;
  out->hashes.resize(size_t(hashCount));
  if (hashCount != 0) std::memcpy(out->hashes.data(), table + 4 + runCount * kRunSize, size_t(hashBytes));
  return Status::ok();
}

void encodeTable(const std::vector<ManifestRun>& runs, const std::vector<Hash128>& hashes, std::vector<uint8_t>* out) {
  const size_t at = out->size();
  out->resize(at + 4 + runs.size() * kRunSize + hashes.size() * kPageHashSize);
  uint8_t* p = out->data() + at;
  putLe32(p, static_cast<uint32_t>(runs.size()));
  p += 4;
  for (const ManifestRun& r : runs) {
    putLe32(p, r.firstPage);
    putLe32(p + 4, r.pages);
    putLe32(p + 8, r.pack);
    putLe32(p + 12, r.firstSlot);
    p += kRunSize;
  }
  if (!hashes.empty()) std::memcpy(p, hashes.data(), hashes.size() * kPageHashSize);
}

Status encodeManifest(const std::string& metaJson, const uint8_t* table, size_t tableLength, std::vector<uint8_t>* out) {
  out->clear();
  if (metaJson.size() > kMaxMetaBytes) return Status::error(Code::kMisuse, "manifest meta of " + std::to_string(metaJson.size()) + " bytes");
  out->resize(kManifestHeaderSize + metaJson.size() + tableLength + kVaultChecksumSize);
  uint8_t* p = out->data();
  std::memcpy(p, kManifestMagic, sizeof(kManifestMagic));
  putLe32(p + 8, kVaultFormatVersion);
  putLe32(p + 12, static_cast<uint32_t>(metaJson.size()));
  std::memcpy(p + kManifestHeaderSize, metaJson.data(), metaJson.size());
  if (tableLength != 0) std::memcpy(p + kManifestHeaderSize + metaJson.size(), table, tableLength);
  const size_t body = out->size() - kVaultChecksumSize;
  const Hash128 sum = hash128(p, body);
  std::memcpy(p + body, sum.bytes, kVaultChecksumSize);
  DecodedManifest check;
  Status status = decodeManifest(out->data(), out->size(), "the new manifest", &check);
  if (!status.isOk()) {
    out->clear();
    return Status::error(Code::kMisuse, "cannot encode a manifest that would not decode: " + status.message());
  }
  return Status::ok();
}

void encodePackHeader(const PackHeader& h, uint8_t* out) {
  std::memcpy(out, kPackMagic, sizeof(kPackMagic));
  putLe32(out + 8, kVaultFormatVersion);
  putLe32(out + 12, h.pageSize);
  putLe32(out + 16, h.slotCount);
  putLe32(out + 20, static_cast<uint32_t>(h.compression));
  putLe64(out + 24, h.payloadLength);
}

Status decodePack(const uint8_t* data, size_t n, const std::string& label, PackHeader* header, const uint8_t** payload,
                  Hash128* checksum) {
  if (n < kPackHeaderSize + kVaultChecksumSize) return corrupt(label, "truncated pack (" + std::to_string(n) + " bytes)");
  if (std::memcmp(data, kPackMagic, sizeof(kPackMagic)) != 0) return corrupt(label, "not a litevault pack (bad magic)");
  const uint32_t version = getLe32(data + 8);
  if (version != kVaultFormatVersion) {
    return Status::error(Code::kUnsupportedFormat, label + ": pack format version " + std::to_string(version) +
                                                      " (this litevault reads version " + std::to_string(kVaultFormatVersion) + ")");
  }
  *checksum = hash128(data, n - kVaultChecksumSize);
  if (std::memcmp(checksum->bytes, data + n - kVaultChecksumSize, kVaultChecksumSize) != 0) {
    return corrupt(label, "checksum mismatch (the pack is damaged or truncated)");
  }
  header->pageSize = getLe32(data + 12);
  header->slotCount = getLe32(data + 16);
  const uint32_t compression = getLe32(data + 20);
  header->payloadLength = getLe64(data + 24);
  if (!validPageSize(header->pageSize)) return corrupt(label, "page size " + std::to_string(header->pageSize));
  if (header->slotCount == 0 || uint64_t(header->slotCount) * header->pageSize > kMaxPackPageBytes) {
    return corrupt(label, std::to_string(header->slotCount) + " slots of " + std::to_string(header->pageSize) + " bytes");
  }
  if (compression > 1) return corrupt(label, "unknown compression " + std::to_string(compression));
  header->compression = static_cast<PackCompression>(compression);
  if (header->payloadLength != n - kPackHeaderSize - kVaultChecksumSize) {
    return corrupt(label, "payload length " + std::to_string(header->payloadLength) + " does not match the object's size");
  }
  if (header->compression == PackCompression::kNone && header->payloadLength != uint64_t(header->slotCount) * header->pageSize) {
    return corrupt(label, "raw payload of " + std::to_string(header->payloadLength) + " bytes for " + std::to_string(header->slotCount) + " slots");
  }
  *payload = data + kPackHeaderSize;
  return Status::ok();
}

}  // namespace litevault
