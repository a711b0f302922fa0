// Walking a -wal file the way SQLite's recovery does (walIndexRecover; reference §4, §6.3).
//
// Frames are read in order from frame 1, each checked against the header salts and the running
// checksum; the walk stops at the first invalid or incomplete frame, and only frames up to the
// last valid commit frame count. The result is what a fresh SQLite reader would take as the
// WAL's content: mxFrame (the last commit frame), nPage (the database size it committed) and
// the newest committed frame of page 1 (so the header of a WAL database can be read as SQLite
// sees it). Recovery of the wal-index builds on this walk.
//
// Locks: none are taken here. The caller decides what a consistent view needs (a WAL read lock
// or WRITE+CKPT+RECOVER for recovery).
// Thread safety: a plain function over a File; no shared state.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "format/wal_format.h"
#include "os/file.h"

namespace litevault {

struct WalScan {
  bool headerValid = false;     // false: missing, short, bad magic/page size/checksum: an empty WAL
  WalHeader header;
  uint64_t fileSize = 0;
  uint32_t framesInFile = 0;    // complete frames physically present, valid or not
  uint32_t mxFrame = 0;         // last valid commit frame (0: no committed frame)
  uint32_t nPage = 0;           // database size in pages committed by frame mxFrame
  uint32_t page1Frame = 0;      // newest frame <= mxFrame holding page 1 (0: none)
  WalChecksum checksumAtMxFrame;  // running checksum after mxFrame (the header's when mxFrame is 0)
};

// Errors: SQLITE_CANTOPEN for a valid header of an unknown WAL version (as SQLite), I/O errors.
// With `pageNumbers`, it receives the page number of every frame 1..mxFrame (for recovery).
Status scanWal(const File& wal, WalScan* out, std::vector<uint32_t>* pageNumbers = nullptr);

}  // namespace litevault
