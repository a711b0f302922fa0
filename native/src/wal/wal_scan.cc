// The recovery walk over a -wal file; see wal_scan.h.
#include "wal/wal_scan.h"

#include <algorithm>
#include <vector>

namespace litevault {

Status scanWal(const File& wal, WalScan* out, std::vector<uint32_t>* pageNumbers) {
  *out = WalScan();
  if (pageNumbers != nullptr) pageNumbers->clear();
  LV_RETURN_IF_ERROR(wal.size(&out->fileSize));
  if (out->fileSize <= kWalHeaderSize) return Status::ok();  // SQLite: 32 bytes or less is empty

  uint8_t headerBytes[kWalHeaderSize];
  LV_RETURN_IF_ERROR(wal.readExactly(headerBytes, kWalHeaderSize, 0));
  WalHeader header;
  switch (decodeWalHeader(headerBytes, &header)) {
    case WalHeaderCheck::kInvalid:
      return Status::ok();
    case WalHeaderCheck::kUnknownVersion:
      return Status::error(Code::kCantOpen, "cannot read '" + wal.path() + "': WAL format version " +
                                                std::to_string(header.formatVersion) + " is not 3007000");
    case WalHeaderCheck::kValid:
      break;
  }
  out->headerValid = true;
  out->header = header;
  out->checksumAtMxFrame = header.checksum;  // SQLite's aFrameCksum before any commit

  const uint64_t frameSize = uint64_t(header.pageSize) + kWalFrameHeaderSize;
  const uint64_t frames = (out->fileSize - kWalHeaderSize) / frameSize;
  out->framesInFile = frames > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(frames);

  // Read many frames per syscall: about 1 MiB at a time, at least one frame.
  const uint32_t framesPerRead = static_cast<uint32_t>(std::max<uint64_t>(1, (1u << 20) / frameSize));
  std::vector<uint8_t> buffer(framesPerRead * frameSize);
  WalChecksum running = header.checksum;
  uint32_t pendingPage1Frame = out->page1Frame;  // page 1 seen since the last commit

  for (uint32_t first = 1; first <= out->framesInFile; first += framesPerRead) {
    uint32_t count = std::min(framesPerRead, out->framesInFile - first + 1);
    LV_RETURN_IF_ERROR(wal.readExactly(buffer.data(), count * frameSize, walFrameOffset(first, header.pageSize)));
    for (uint32_t i = 0; i < count; i++) {
      const uint8_t* frame = buffer.data() + i * frameSize;
      WalFrameHeader fh;
      if (!checkWalFrame(header, frame, frame + kWalFrameHeaderSize, &running, &fh)) {
        if (pageNumbers != nullptr) pageNumbers->resize(out->mxFrame);
        return Status::ok();
      }
      uint32_t n = first + i;
      if (pageNumbers != nullptr) pageNumbers->push_back(fh.pageNumber);
      if (fh.pageNumber == 1) pendingPage1Frame = n;
      if (fh.commitPageCount != 0) {
        out->mxFrame = n;
        out->nPage = fh.commitPageCount;
        out->page1Frame = pendingPage1Frame;
        out->checksumAtMxFrame = running;
      }
    }
  }
  if (pageNumbers != nullptr) pageNumbers->resize(out->mxFrame);
  return Status::ok();
}

}  // namespace litevault
