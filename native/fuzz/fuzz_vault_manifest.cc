// libFuzzer target: vault manifests and pack headers (vault/vault_format: decodeManifest,
// encodeManifest, encodeTable, decodePack; vault/meta_json: the meta reader) and the chain
// state built from a manifest (vault/page_state).
//
// The input is a whole manifest object. It is checked twice: as it is, and with its last 16
// bytes replaced by the correct checksum (so mutations get past the checksum and reach the
// structural checks). Properties:
//   1. decodeManifest returns ok, LITEVAULT_VAULT_CORRUPT or LITEVAULT_UNSUPPORTED_FORMAT
//      (unknown version only), never anything else, with a message naming the label;
//   2. a decoded manifest satisfies what the decoder promises (runs sorted, non-empty,
//      non-overlapping, in 1..pageCount, no lock-byte page, slots inside their pack, one hash per
//      page), and re-encoding its meta and table gives back exactly the input bytes;
//   3. PageState::build over it either succeeds with pageCount == meta.pageCount and every
//      listed page's hash in place, or reports LITEVAULT_VAULT_CORRUPT (a hole);
//   4. decodePack over the same bytes never crashes, and what it accepts has a valid header.
#include <cstring>

#include "format/db_header.h"
#include "fuzz_common.h"
#include "vault/page_state.h"
#include "vault/vault_format.h"

using namespace litevault;

namespace {

void checkManifest(const uint8_t* data, size_t size) {
  DecodedManifest m;
  Status status = decodeManifest(data, size, "fuzz.manifest", &m);
  fuzz::checkStatus(status);
  if (!status.isOk()) {
    FUZZ_CHECK(status.code() == Code::kVaultCorrupt || status.code() == Code::kUnsupportedFormat);
    FUZZ_CHECK(status.message().rfind("fuzz.manifest: ", 0) == 0);
    if (status.code() == Code::kUnsupportedFormat) FUZZ_CHECK(size >= 12 && getLe32(data + 8) != kVaultFormatVersion);
    return;
  }
  // 2. the decoder's promises.
  const uint32_t lockPage = lockBytePage(m.meta.pageSize);
  uint64_t pages = 0, nextFree = 1;
  for (const ManifestRun& r : m.runs) {
    const uint64_t last = uint64_t(r.firstPage) + r.pages - 1;
    FUZZ_CHECK(r.pages > 0 && r.firstPage >= nextFree && last <= m.meta.pageCount);
    FUZZ_CHECK(!(r.firstPage <= lockPage && lockPage <= last));
    FUZZ_CHECK(r.pack < m.meta.packs.size() && uint64_t(r.firstSlot) + r.pages <= m.meta.packs[r.pack].slots);
    nextFree = last + 1;
    pages += r.pages;
  }
  FUZZ_CHECK(pages == m.pages && m.hashes.size() == pages);
  FUZZ_CHECK(validPageSize(m.meta.pageSize));
  std::vector<uint8_t> table;
  encodeTable(m.runs, m.hashes, &table);
  std::vector<uint8_t> again;
  FUZZ_CHECK(encodeManifest(m.metaJson, table.data(), table.size(), &again).isOk());
  FUZZ_CHECK(again.size() == size && std::memcmp(again.data(), data, size) == 0);

  // 3. the state of a one-link chain.
  if (m.meta.pageCount > (1u << 20)) return;  // keep each input cheap (28 bytes per page)
  std::vector<DecodedManifest> chain{m};
  PageState state;
  Status built = PageState::build(chain, {"fuzz.manifest"}, &state);
  fuzz::checkStatus(built);
  if (!built.isOk()) {
    FUZZ_CHECK(built.code() == Code::kVaultCorrupt);
    return;
  }
  FUZZ_CHECK(state.pageCount() == m.meta.pageCount && state.pageSize() == m.meta.pageSize);
  size_t h = 0;
  for (const ManifestRun& r : m.runs) {
    for (uint32_t i = 0; i < r.pages; i++) {
      const PageState::Entry* e = state.find(r.firstPage + i);
      FUZZ_CHECK(e != nullptr && e->link == 0 && e->hash == m.hashes[h + i] && e->slot == r.firstSlot + i && e->pack == r.pack);
    }
    h += r.pages;
  }
}

void checkPack(const uint8_t* data, size_t size) {
  PackHeader header;
  const uint8_t* payload = nullptr;
  Hash128 sum;
  Status status = decodePack(data, size, "fuzz.pack", &header, &payload, &sum);
  fuzz::checkStatus(status);
  if (!status.isOk()) {
    FUZZ_CHECK(status.code() == Code::kVaultCorrupt || status.code() == Code::kUnsupportedFormat);
    return;
  }
  FUZZ_CHECK(validPageSize(header.pageSize) && header.slotCount >= 1);
  FUZZ_CHECK(uint64_t(header.slotCount) * header.pageSize <= kMaxPackPageBytes);
  FUZZ_CHECK(payload == data + kPackHeaderSize && header.payloadLength == size - kPackHeaderSize - kVaultChecksumSize);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  checkManifest(data, size);
  checkPack(data, size);
  if (size >= kVaultChecksumSize) {
    std::vector<uint8_t> fixed(data, data + size);
    const Hash128 sum = hash128(fixed.data(), size - kVaultChecksumSize);
    std::memcpy(fixed.data() + size - kVaultChecksumSize, sum.bytes, kVaultChecksumSize);
    checkManifest(fixed.data(), fixed.size());
    checkPack(fixed.data(), fixed.size());
  }
  return 0;
}
