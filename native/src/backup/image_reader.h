// ImageReader: one consistent snapshot of a source database, read out as the bytes of the file
// backup() would write to a new path, for backupStream() (ESE's external backup: JetReadFile
// over the snapshot JetBeginExternalBackup took).
//
//   begin    opens the read transaction and keeps it until end(), in both journal modes: a
//            stream cannot start over once bytes are out, so there is no restart mode. On a
//            rollback-journal source writers wait (SQLITE_BUSY after their busy timeout) until
//            end(); on a WAL source they go on and only checkpoints stop at the snapshot. BUSY
//            and LOCKED (the handle is in another operation of this process) leave the reader
//            as it was: retry. The snapshot is counted in the connection's pinnedReads.
//   read     bytes [offset, offset + n) of the image, in whole pages. The image is pageCount x
//            pageSize bytes: every page as the snapshot has it, the lock-byte page as zeros (a
//            backup never writes it), page 1 as backup() leaves a new file (byte 28 the page
//            count; change counter, version-valid-for and schema cookie 1: a new file's were 0;
//            a cksumvfs page 1 stamped again). An empty source is SQLite's one-page empty
//            database of 4096 bytes, as backup() writes it. Several reads may run at once on
//            different threads: each plans its pages under the connection's mutex
//            (Pager::planRead) and then only preads (Pager::readPlanned).
//   sendTo   the same bytes written to a descriptor (stdout) instead: file pages by sendfile,
//            with no copy through user memory; page 1, the lock-byte page and WAL frames
//            through a one-page buffer. Sequential per descriptor.
//   end      waits for reads in flight, ends the read transaction (every lock released);
//            idempotent, any time, also without begin().
//
// The source connection counts the reader in `backups` until end(), so closing that connection
// fails with SQLITE_BUSY meanwhile, as under an unfinished Backup.
//
// Thread safety: any thread. begin() and end() exclude each other and every read(); read()
// calls share.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "pager/connection.h"

namespace litevault {

class ImageReader {
 public:
  struct Snapshot {
    uint32_t pageSize = 0;   // of the image (4096 for an empty source)
    uint32_t pageCount = 0;  // of the image (1 for an empty source)
    uint64_t bytes = 0;      // pageSize x pageCount
    bool wal = false;        // the source is in WAL mode
    uint32_t walFrame = 0;   // WAL source: the snapshot's last frame (mxFrame)
    bool empty = false;      // the source has no pages: the image is the one-page empty database
  };

  // No I/O. Errors: SQLITE_MISUSE (no source, closed handle).
  static Status create(std::shared_ptr<Connection> source, std::unique_ptr<ImageReader>* out);
  ~ImageReader();

  // Errors: SQLITE_BUSY (after busyTimeoutMs), SQLITE_LOCKED, SQLITE_NOTADB/CORRUPT (a bad
  // header), I/O errors; SQLITE_MISUSE after end(). A second call returns the same snapshot.
  Status begin(int busyTimeoutMs, Snapshot* out);
  // offset and n multiples of the page size, offset + n <= bytes. Errors: SQLITE_MISUSE (before
  // begin, after end, a bad range), I/O errors.
  Status read(uint64_t offset, size_t n, uint8_t* out);
  // The same bytes written to descriptor `fd` (standard output) in order, file pages by
  // sendfile (os/out_fd.h). One call at a time per descriptor. Errors: read()'s, and
  // SQLITE_IOERR_WRITE (errno EPIPE when fd's reader went away) naming `what`.
  Status sendTo(int fd, uint64_t offset, size_t n, const std::string& what);
  void end();

 private:
  explicit ImageReader(std::shared_ptr<Connection> source) : source_(std::move(source)) {}
  void stampPage1(uint8_t* page1, bool cksumvfs) const;
  Status readShared(uint64_t offset, size_t n, uint8_t* out);
  Status pagesOf(uint64_t offset, size_t n, uint32_t* first, uint32_t* last) const;
  Status plan(uint32_t from, uint32_t to, std::vector<Pager::ReadPiece>* out, const Pager** pager);

  const std::shared_ptr<Connection> source_;
  // begin/end exclusive, read shared; guards everything below.
  std::shared_mutex lifetime_;
  bool begun_ = false;
  bool ended_ = false;
  Snapshot snapshot_;
};

}  // namespace litevault
