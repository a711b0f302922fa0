// Rebuilding the wal-index from the -wal (walIndexRecover, walIndexAppend); see wal.h.
//
// Recovery never edits a live hash table in place: SQLite readers of other processes may be
// probing it at that moment (a reader that finds a slot empty reads the page from the database
// file, an older version). As walIndexRecover does with aPrivate, each 32 KiB region's page
// array and hash table are built in a private buffer and published with one memcpy over the
// shared region (whose content for frames <= mxFrame is the same, rebuilt from the same -wal).
#include <algorithm>
#include <cstring>
#include <vector>

#include "format/byte_order.h"
#include "wal/wal.h"
#include "wal/wal_scan.h"

namespace litevault {
namespace {

// Records in `region` (region number r) that its 1-based entry `index` holds `page`: the page
// array entry, then the hash slot. False on a full hash table. The caller owns the region
// (WRITE lock for the shared one, or a private buffer).
bool insertFrame(uint8_t* region, uint32_t r, uint32_t index, uint32_t page) {
  uint32_t* pages = reinterpret_cast<uint32_t*>(region + walIndexPageArrayOffset(r));
  uint16_t* slots = reinterpret_cast<uint16_t*>(region + kHashTableOffset);
  uint32_t slot = walIndexHash(page);
  for (uint32_t collisions = index; slots[slot] != 0; slot = (slot + 1) & (kHashSlotCount - 1)) {
    if (collisions-- == 0) return false;
  }
  pages[index - 1] = page;
  __atomic_store_n(&slots[slot], static_cast<uint16_t>(index), __ATOMIC_RELAXED);
  return true;
}

}  // namespace

// walIndexAppend: records that `frame` holds `page`. The caller holds WRITE (or is recovering).
Status Wal::appendIndex(uint32_t frame, uint32_t page) {
  const uint32_t r = walIndexRegionOf(frame);
  uint8_t* region = nullptr;
  LV_RETURN_IF_ERROR(shm_->region(r, true, &region));
  const uint32_t index = frame - walIndexRegionBase(r);  // 1-based within the region
  uint32_t* pages = reinterpret_cast<uint32_t*>(region + walIndexPageArrayOffset(r));
  uint16_t* slots = reinterpret_cast<uint16_t*>(region + kHashTableOffset);
  if (index == 1) {
    // First frame of a region: clear its page array and hash table.
    std::memset(pages, 0, reinterpret_cast<uint8_t*>(slots) + kHashSlotCount * 2 - reinterpret_cast<uint8_t*>(pages));
  }
  if (pages[index - 1] != 0) {
    // Leftovers of a writer that crashed past mxFrame (walCleanupHash): drop entries > index-1.
    for (uint32_t s = 0; s < kHashSlotCount; s++) {
      if (slots[s] >= index) slots[s] = 0;
    }
    const uint32_t entries = r == 0 ? kHashFirstRegionPages : kHashPageCount;
    std::memset(pages + index - 1, 0, (entries - (index - 1)) * sizeof(uint32_t));
  }
  if (!insertFrame(region, r, index, page)) return Status::error(Code::kCorrupt, "'" + dbPath_ + "-shm': hash table overflow");
  return Status::ok();
}

// walIndexRecover. The caller holds WRITE_LOCK exclusively.
Status Wal::recover() {
  // CKPT and RECOVER, or RECOVER alone when the caller (a checkpointer) already holds CKPT,
  // whose lock must then survive the recovery.
  const int firstLock = locks_.holdsExclusive(kCheckpointLock) ? kRecoverLock : kCheckpointLock;
  const int lockCount = kRecoverLock - firstLock + 1;
  LV_RETURN_IF_ERROR(locks_.lock(firstLock, lockCount, true));
  WalScan scan;
  std::vector<uint32_t> pages;
  Status status = scanWal(*wal_, &scan, &pages);
  // Region by region: build privately, publish with one copy (the region's header bytes, in
  // region 0, are the wal-index header, written below as walIndexWriteHdr does).
  std::vector<uint8_t> building;
  for (uint32_t r = 0; status.isOk() && scan.mxFrame != 0 && r <= walIndexRegionOf(scan.mxFrame); r++) {
    building.assign(kWalIndexRegionSize, 0);
    const uint32_t base = walIndexRegionBase(r);
    const uint32_t last = std::min(scan.mxFrame, base + (r == 0 ? kHashFirstRegionPages : kHashPageCount));
    for (uint32_t frame = base + 1; status.isOk() && frame <= last; frame++) {
      if (!insertFrame(building.data(), r, frame - base, pages[frame - 1])) {
        status = Status::error(Code::kCorrupt, "'" + dbPath_ + "-shm': hash table overflow");
      }
    }
    uint8_t* shared = nullptr;
    if (status.isOk()) status = shm_->region(r, true, &shared);
    if (status.isOk()) {
      const size_t skip = walIndexPageArrayOffset(r);
      std::memcpy(shared + skip, building.data() + skip, kWalIndexRegionSize - skip);
    }
  }
  if (status.isOk()) {
    WalIndexHeader h;
    h.version = kWalIndexVersion;
    h.isInit = 1;
    if (scan.headerValid) {
      h.bigEndianChecksum = scan.header.bigEndianChecksums() ? 1 : 0;
      h.frameChecksum = scan.checksumAtMxFrame;
      put4(h.salt, scan.header.salt1);  // aSalt keeps the WAL header's big-endian bytes
      put4(h.salt + 4, scan.header.salt2);
      if (scan.mxFrame != 0) {
        h.pageSize = scan.header.pageSize;
        h.mxFrame = scan.mxFrame;
        h.nPage = scan.nPage;
      }
    }
    uint8_t bytes[kWalIndexHdrSize];
    encodeWalIndexHeader(&h, bytes);
    // walIndexWriteHdr: copy 1, barrier, copy 0.
    std::memcpy(region0_ + kWalIndexHdrSize, bytes, kWalIndexHdrSize);
    ShmNode::barrier();
    std::memcpy(region0_, bytes, kWalIndexHdrSize);
    header_ = h;
    haveHeader_ = true;
    walPageSize_ = h.pageSize;

    auto store = [&](size_t offset, uint32_t v) { storeShmWord(region0_ + offset, v); };
    store(kNBackfillOffset, 0);
    store(kNBackfillAttemptedOffset, scan.mxFrame);
    store(kReadMarkOffset, 0);
    for (int i = 1; i < kWalReaders; i++) {
      Status locked = locks_.lock(readLock(i), 1, true);
      if (locked.isOk()) {
        store(kReadMarkOffset + 4 * i, i == 1 && scan.mxFrame != 0 ? scan.mxFrame : kReadMarkNotUsed);
        locks_.unlock(readLock(i), 1, true);
      } else if (!isBusy(locked)) {
        status = locked;
        break;
      }
    }
  }
  locks_.unlock(firstLock, lockCount, true);
  return status;
}

}  // namespace litevault
