// Header and WAL summary of a database file; see inspect.h.
#include "pager/inspect.h"

#include <cstring>

#include "os/file.h"

namespace litevault {
Status inspectDatabase(const std::string& path, DatabaseInfo* out) {
  *out = DatabaseInfo();
  out->path = path;
  std::string canonical;  // the -wal and -shm SQLite uses sit beside the real file
  LV_RETURN_IF_ERROR(canonicalPath(path, &canonical));
  File* db = nullptr;
  LV_RETURN_IF_ERROR(openFile(canonical, OpenIntent::kRead, &db));
  FileRef dbRef(db);
  LV_RETURN_IF_ERROR(db->size(&out->fileSize));
  if (out->fileSize == 0) {
    out->empty = true;
    return Status::ok();  // an empty database; SQLite ignores (and deletes) a WAL beside it
  }

  uint8_t bytes[kDbHeaderSize];
  size_t got = 0;
  LV_RETURN_IF_ERROR(db->readAt(bytes, sizeof(bytes), 0, &got));
  LV_RETURN_IF_ERROR(decodeDbHeader(bytes, got, &out->header).about(path));

  const std::string walPath = canonical + "-wal";
  PathInfo walInfo;
  LV_RETURN_IF_ERROR(statPath(walPath, &walInfo));
  if (walInfo.present() && walInfo.regular) {
    File* wal = nullptr;
    LV_RETURN_IF_ERROR(openFile(walPath, OpenIntent::kRead, &wal));
    FileRef walRef(wal);
    out->walExists = true;
    LV_RETURN_IF_ERROR(scanWal(*wal, &out->wal));
    if (out->wal.page1Frame != 0) {
      const uint64_t at = walFrameOffset(out->wal.page1Frame, out->wal.header.pageSize) + kWalFrameHeaderSize;
      LV_RETURN_IF_ERROR(wal->readExactly(bytes, sizeof(bytes), at));
      Status decoded = decodeDbHeader(bytes, sizeof(bytes), &out->header);
      if (!decoded.isOk()) {
        return Status::error(Code::kCorrupt, "'" + walPath + "': frame " + std::to_string(out->wal.page1Frame) +
                                                 " holds an invalid page 1: " + decoded.message());
      }
      out->headerFromWal = true;
    }
  }

  const std::string shmPath = canonical + "-shm";
  PathInfo shmInfo;
  LV_RETURN_IF_ERROR(statPath(shmPath, &shmInfo));
  if (shmInfo.exists && shmInfo.regular) {
    out->shmExists = true;
    File* shm = nullptr;
    LV_RETURN_IF_ERROR(openFile(shmPath, OpenIntent::kRead, &shm));
    FileRef shmRef(shm);
    uint8_t index[kWalIndexHeaderSize];
    got = 0;
    LV_RETURN_IF_ERROR(shm->readAt(index, sizeof(index), 0, &got));
    if (got == sizeof(index) && std::memcmp(index, index + kWalIndexHdrSize, kWalIndexHdrSize) == 0 &&
        walIndexHeaderValid(index)) {
      out->shmHeaderValid = true;
      out->shmHeader = decodeWalIndexHeader(index);
      auto native = [&](size_t offset) {
        uint32_t v;
        std::memcpy(&v, index + offset, 4);
        return v;
      };
      out->nBackfill = native(kNBackfillOffset);
      out->nBackfillAttempted = native(kNBackfillAttemptedOffset);
      for (int i = 0; i < kWalReaders; i++) out->readMarks[i] = native(kReadMarkOffset + 4 * i);
    }
  }

  // lockBtree: the file's page count (or the WAL commit's), then the in-header size if valid.
  const uint64_t filePages = (out->fileSize + out->header.pageSize - 1) / out->header.pageSize;
  const uint64_t available = out->wal.mxFrame != 0 ? out->wal.nPage : filePages;
  LV_RETURN_IF_ERROR(countPages(out->header, available, &out->pageCount).about(path));
  return Status::ok();
}

}  // namespace litevault
