// PageState: the state of a backup (docs/vault-format.md "What a backup's snapshot is"): for
// every page 1..pageCount of the chain's last link, the image found by walking the chain from
// that link back to the full backup and taking the first link whose runs list the page, as
// (hash, link, pack, slot). The scan uses it for the base hashes (vault_scan.h), the restore
// for its plan (vault_restore.h).
//
// Built from decoded manifests (vault_format.h), FULL FIRST: each link's runs overwrite what
// the links before it said, then the state is cut to the last link's pageCount. Every page
// except the lock-byte page must be found; one that is not is LITEVAULT_VAULT_CORRUPT naming the
// last link and the page. Cost: one 28-byte entry per page (7 MiB for a 1 GiB database of 4 KiB
// pages) and one pass over every link's runs.
//
// Thread safety: immutable after build(); read it from any number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "vault/vault_format.h"

namespace litevault {

class PageState {
 public:
  struct Entry {
    Hash128 hash;
    int32_t link = -1;  // index into the chain; -1: no image (the lock-byte page)
    uint32_t pack = 0;  // index into that link's meta.packs
    uint32_t slot = 0;
  };

  // chain[i] is labelled labels[i] in messages. An empty chain gives an empty state (pageCount
  // 0). Errors: LITEVAULT_VAULT_CORRUPT (a page found nowhere; links of different page sizes).
  static Status build(const std::vector<DecodedManifest>& chain, const std::vector<std::string>& labels, PageState* out);

  uint32_t pageSize() const { return pageSize_; }
  uint32_t pageCount() const { return static_cast<uint32_t>(entries_.size()); }
  // The entry of page 1..pageCount(); null past the end.
  const Entry* find(uint32_t page) const { return page >= 1 && page <= entries_.size() ? &entries_[page - 1] : nullptr; }

 private:
  uint32_t pageSize_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace litevault
