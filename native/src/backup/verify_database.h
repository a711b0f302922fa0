// DatabaseVerify: the structure check (verify/structure_check.h) of a live database, read as any
// reader reads it. One read transaction for the whole check (SHARED on a rollback-journal
// database, a WAL snapshot otherwise: writers in other processes go on in WAL mode, and wait as
// they would for any reader in rollback mode); pages in 1 MiB chunks, read by two threads of its
// own and checked as they arrive (the check takes pages in any order), then the few the check
// asks for again; nothing is written, so the file stays byte-identical. A database handle in
// another operation of this process is SQLITE_LOCKED (retry).
//
// Thread safety: run() on one thread at a time (it holds the connection's mutex throughout; its
// reader threads only pread, Pager::readPlanned, and end before it returns); cancel() and
// pagesRead() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "base/status.h"
#include "pager/connection.h"
#include "verify/structure_check.h"

namespace litevault {

class DatabaseVerify {
 public:
  DatabaseVerify(std::shared_ptr<Connection> connection, const StructureCheck::Options& options)
      : connection_(std::move(connection)), options_(options) {}

  // The verdict is in `out`; the Status is ok unless the check could not run (SQLITE_BUSY,
  // SQLITE_LOCKED, SQLITE_IOERR_*, SQLITE_INTERRUPT after cancel(), SQLITE_MISUSE if closed).
  Status run(StructureCheck::Report* out);
  void cancel() { cancelled_ = true; }
  uint32_t pagesRead() const { return pagesRead_.load(); }
  uint32_t pageCount() const { return pageCount_.load(); }

 private:
  Status runLocked(Pager& pager, StructureCheck::Report* out);

  const std::shared_ptr<Connection> connection_;
  const StructureCheck::Options options_;
  std::atomic<bool> cancelled_{false};
  std::atomic<uint32_t> pagesRead_{0};
  std::atomic<uint32_t> pageCount_{0};
};

}  // namespace litevault
