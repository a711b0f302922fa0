// Building a chain's page state; see page_state.h.
#include "vault/page_state.h"

#include <algorithm>

#include "format/db_header.h"

namespace litevault {

Status PageState::build(const std::vector<DecodedManifest>& chain, const std::vector<std::string>& labels, PageState* out) {
  out->pageSize_ = 0;
  out->entries_.clear();
  if (chain.empty()) return Status::ok();
  auto label = [&](size_t i) { return i < labels.size() ? labels[i] : "link " + std::to_string(i); };
  const DecodedManifest& last = chain.back();
  const uint32_t pageSize = last.meta.pageSize;
  const uint32_t pageCount = last.meta.pageCount;
  std::vector<Entry> entries(pageCount);
  for (size_t l = 0; l < chain.size(); l++) {
    const DecodedManifest& m = chain[l];
    if (m.meta.pageSize != pageSize) {
      return Status::error(Code::kVaultCorrupt, label(chain.size() - 1) + ": its chain mixes page sizes (" + label(l) + " has " +
                                                    std::to_string(m.meta.pageSize) + ", it has " + std::to_string(pageSize) + ")");
    }
    size_t h = 0;  // decodeManifest guarantees one hash per listed page
    for (const ManifestRun& run : m.runs) {
      const uint32_t end = static_cast<uint32_t>(std::min<uint64_t>(uint64_t(run.firstPage) + run.pages - 1, pageCount));
      for (uint32_t p = run.firstPage; p <= end && p >= run.firstPage; p++) {
        Entry& e = entries[p - 1];
        e.hash = m.hashes[h + (p - run.firstPage)];
        e.link = static_cast<int32_t>(l);
        e.pack = run.pack;
        e.slot = run.firstSlot + (p - run.firstPage);
      }
      h += run.pages;
    }
  }
  const uint32_t lockPage = lockBytePage(pageSize);
  for (uint32_t p = 1; p <= pageCount; p++) {
    if (entries[p - 1].link < 0 && p != lockPage) {
      return Status::error(Code::kVaultCorrupt, label(chain.size() - 1) + ": page " + std::to_string(p) +
                                                    " is in no backup of its chain (the chain has a hole)");
    }
  }
  out->pageSize_ = pageSize;
  out->entries_ = std::move(entries);
  return Status::ok();
}

}  // namespace litevault
