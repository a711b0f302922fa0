// libFuzzer target: opening and reading a database whose files are all fuzzed: the database,
// its -wal, its -shm and its -journal, through the real code paths and real files on tmpfs:
// inspectDatabase (pager/inspect), Pager::open/beginRead/readPages/endRead (pager/pager, the
// hot-journal check and rollback, wal/wal_read, wal/wal_recover, os/shm, os/db_lock), a
// PASSIVE checkpoint (wal/wal_checkpoint) and a one-page rollback-mode write transaction.
//
// Input: [flags] then three parts, each [3-byte big-endian length][bytes] (the last one takes
// what is left): the database, then the -wal (WAL layout) or the -journal (rollback layout),
// then the -shm (WAL layout only). Flags:
//   1   read-only pager (never writes the database, -wal or journal)
//   2   WAL layout: <db>, <db>-wal and <db>-shm all exist; otherwise the rollback layout:
//       <db> and maybe <db>-journal, while <db>-wal and <db>-shm are dangling symlinks into a
//       missing directory (so a WAL header fails to open instead of creating files)
//   4   another "process" (a separate open file description) holds the -shm's DMS byte shared,
//       so litevault does not reset the fuzzed -shm but reads it
//   8   fix up checksums: the WAL header and every frame get valid salts and checksums, the
//       -shm's two header copies a valid checksum (so the fuzzer explores the content behind them)
//   16  run a PASSIVE checkpoint (read-write WAL layout)
//   32  the -journal exists (rollback layout)
//   64  fix up the journal: magic on the first header and valid record checksums
//   128 a write transaction that rewrites page 1 unchanged and commits (read-write rollback layout)
// Files are rewritten in place for every input (same inodes), because litevault keeps every
// database, -wal and -shm descriptor open for the life of the process (os/file.h).
//
// Properties, besides the sanitizers and libFuzzer's timeout (a hang is a bug):
//   * inspectDatabase never changes any file;
//   * a read-only pager never changes the database, -wal or journal (the -shm is SQLite's to
//     rebuild); a read-write pager never changes the database or -wal in the WAL layout unless
//     it checkpoints, except that it deletes a -wal beside an empty database, as SQLite does;
//   * failures carry one of the codes a malformed file may give (never SQLITE_INTERNAL,
//     SQLITE_MISUSE, SQLITE_BUSY or SQLITE_PROTOCOL when nobody else holds a lock).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "format/byte_order.h"
#include "format/wal_format.h"
#include "format/wal_index.h"
#include "fuzz_common.h"
#include "pager/inspect.h"
#include "pager/pager.h"
#include "wal/wal.h"

using namespace litevault;

namespace {

struct Layout {
  std::string root, walDir, walDb, rbDir, rbDb;
  int dmsFd = -1;  // the "other process": its own description of <walDb>-shm
};

Layout* layout = nullptr;

void removeLayout() {
  if (layout == nullptr) return;
  for (const std::string& db : {layout->walDb, layout->rbDb}) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) unlink((db + suffix).c_str());
  }
  rmdir(layout->walDir.c_str());
  rmdir(layout->rbDir.c_str());
  rmdir(layout->root.c_str());
}

void writeFile(const std::string& path, const uint8_t* data, size_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  FUZZ_CHECK(fd >= 0);
  fuzz::writeAll(fd, data, size);
  close(fd);
}

std::vector<uint8_t> readFile(const std::string& path) {
  std::vector<uint8_t> out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  struct stat st;
  FUZZ_CHECK(fstat(fd, &st) == 0);
  // Sparse files may be huge after a rollback extended them: compare size and the first 1 MiB.
  out.resize(size_t(std::min<off_t>(st.st_size, 1 << 20)));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t r = pread(fd, out.data() + done, out.size() - done, off_t(done));
    FUZZ_CHECK(r > 0);
    done += size_t(r);
  }
  close(fd);
  const uint64_t size = uint64_t(st.st_size);
  for (int i = 0; i < 8; i++) out.push_back(uint8_t(size >> (8 * i)));
  return out;
}

void setup() {
  const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  layout = new Layout();
  layout->root = std::string(base) + "/litevault-fuzz-open-" + std::to_string(getpid());
  layout->walDir = layout->root + "/wal";
  layout->rbDir = layout->root + "/rollback";
  layout->walDb = layout->walDir + "/db";
  layout->rbDb = layout->rbDir + "/db";
  FUZZ_CHECK(mkdir(layout->root.c_str(), 0755) == 0 || errno == EEXIST);
  FUZZ_CHECK(mkdir(layout->walDir.c_str(), 0755) == 0 || errno == EEXIST);
  FUZZ_CHECK(mkdir(layout->rbDir.c_str(), 0755) == 0 || errno == EEXIST);
  for (const char* suffix : {"", "-wal", "-shm"}) writeFile(layout->walDb + suffix, nullptr, 0);
  writeFile(layout->rbDb, nullptr, 0);
  const std::string nowhere = layout->root + "/no-such-dir/x";
  FUZZ_CHECK(symlink(nowhere.c_str(), (layout->rbDb + "-wal").c_str()) == 0);
  FUZZ_CHECK(symlink(nowhere.c_str(), (layout->rbDb + "-shm").c_str()) == 0);
  layout->dmsFd = open((layout->walDb + "-shm").c_str(), O_RDWR | O_CLOEXEC);
  FUZZ_CHECK(layout->dmsFd >= 0);
  atexit(removeLayout);
}

void holdDms(bool hold) {
  struct flock fl = {};
  fl.l_type = hold ? F_RDLCK : F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kShmDmsByte;
  fl.l_len = 1;
  FUZZ_CHECK(fcntl(layout->dmsFd, F_OFD_SETLK, &fl) == 0);
}

// Valid magic/version/page size, header checksum, salts and cumulative frame checksums.
void fixWal(std::vector<uint8_t>& w, uint32_t dbPageSize) {
  if (w.size() < kWalHeaderSize) return;
  const bool bigEndian = (w[3] & 1) != 0;
  put4(w.data(), kWalMagic | (bigEndian ? 1 : 0));
  put4(w.data() + 4, kWalFormatVersion);
  uint32_t ps = get4(w.data() + 8);
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0) put4(w.data() + 8, ps = dbPageSize);
  WalChecksum sum;
  walChecksum(bigEndian, w.data(), 24, &sum);
  put4(w.data() + 24, sum.s0);
  put4(w.data() + 28, sum.s1);
  const size_t frameSize = size_t(ps) + kWalFrameHeaderSize;
  for (size_t at = kWalHeaderSize; at + frameSize <= w.size(); at += frameSize) {
    std::memcpy(w.data() + at + 8, w.data() + 16, 8);
    walChecksum(bigEndian, w.data() + at, 8, &sum);
    walChecksum(bigEndian, w.data() + at + kWalFrameHeaderSize, ps, &sum);
    put4(w.data() + at + 16, sum.s0);
    put4(w.data() + at + 20, sum.s1);
  }
}

// Both wal-index header copies made equal and valid (native-order checksum).
void fixShm(std::vector<uint8_t>& s) {
  if (s.size() < kWalIndexHeaderSize) return;
  WalIndexHeader h = decodeWalIndexHeader(s.data());
  h.version = kWalIndexVersion;
  if (h.isInit == 0) h.isInit = 1;
  encodeWalIndexHeader(&h, s.data());
  std::memcpy(s.data() + kWalIndexHdrSize, s.data(), kWalIndexHdrSize);
}

// The first header's magic and every record checksum, segment by segment (512-byte sectors
// unless the first header says otherwise).
void fixJournal(std::vector<uint8_t>& j) {
  if (j.size() < 28) return;
  static const uint8_t kMagic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
  std::memcpy(j.data(), kMagic, 8);
  const uint32_t sector = get4(j.data() + 20);
  const uint32_t ps = get4(j.data() + 24);
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0 || sector < 32 || sector > 65536 || (sector & (sector - 1)) != 0) return;
  uint64_t hdr = 0;
  for (int segment = 0; segment < 16 && hdr + sector <= j.size(); segment++) {
    if (std::memcmp(j.data() + hdr, kMagic, 8) != 0) break;
    const uint32_t init = get4(j.data() + hdr + 12);
    uint64_t n = get4(j.data() + hdr + 8);
    uint64_t at = hdr + sector;
    for (; n > 0 && at + ps + 8 <= j.size(); n--, at += ps + 8) {
      uint32_t sum = init;
      for (int64_t i = int64_t(ps) - 200; i > 0; i -= 200) sum += j[size_t(at + 4 + uint64_t(i))];
      put4(j.data() + at + 4 + ps, sum);
    }
    hdr = (at + sector - 1) / sector * sector;
  }
}

void checkCode(const Status& s, const char* what) {
  fuzz::checkStatus(s);
  const Code c = s.code();
  if (c == Code::kInternal || c == Code::kMisuse || c == Code::kBusy || c == Code::kBusyRecovery ||
      c == Code::kProtocol || c == Code::kLocked) {
    std::fprintf(stderr, "%s: unexpected %s: %s\n", what, codeName(c), s.message().c_str());
    FUZZ_CHECK(false);
  }
}

std::vector<uint8_t> part(const uint8_t*& p, const uint8_t* end, bool last) {
  if (last) return std::vector<uint8_t>(p, end);
  if (end - p < 3) {
    p = end;
    return {};
  }
  size_t n = (size_t(p[0]) << 16) | (size_t(p[1]) << 8) | p[2];
  p += 3;
  n = std::min<size_t>(n, size_t(end - p));
  std::vector<uint8_t> out(p, p + n);
  p += n;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (layout == nullptr) setup();
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const bool readOnly = flags & 1;
  const bool walLayout = flags & 2;
  const uint8_t* p = data + 1;
  const uint8_t* end = data + size;
  std::vector<uint8_t> db = part(p, end, false);
  std::vector<uint8_t> second = part(p, end, !walLayout);
  std::vector<uint8_t> shm = walLayout ? part(p, end, true) : std::vector<uint8_t>();

  const std::string& path = walLayout ? layout->walDb : layout->rbDb;
  uint32_t dbPageSize = db.size() >= 18 ? decodePageSize(db.data() + 16) : 0;
  if (dbPageSize == 0) dbPageSize = 4096;
  writeFile(path, db.data(), db.size());
  if (walLayout) {
    if (flags & 8) {
      fixWal(second, dbPageSize);
      fixShm(shm);
    }
    writeFile(path + "-wal", second.data(), second.size());
    writeFile(path + "-shm", shm.data(), shm.size());
    holdDms(flags & 4);
  } else if (flags & 32) {
    if (flags & 64) fixJournal(second);
    writeFile(path + "-journal", second.data(), second.size());
  } else {
    unlink((path + "-journal").c_str());
  }

  const std::vector<uint8_t> dbBefore = readFile(path);
  const std::vector<uint8_t> secondBefore = readFile(path + (walLayout ? "-wal" : "-journal"));
  const std::vector<uint8_t> shmBefore = walLayout ? readFile(path + "-shm") : std::vector<uint8_t>();

  // inspect() never writes anything.
  {
    DatabaseInfo info;
    Status s = inspectDatabase(path, &info);
    checkCode(s, "inspect");
    FUZZ_CHECK(readFile(path) == dbBefore);
    FUZZ_CHECK(readFile(path + (walLayout ? "-wal" : "-journal")) == secondBefore);
    if (walLayout) FUZZ_CHECK(readFile(path + "-shm") == shmBefore);
    if (s.isOk() && !info.empty) FUZZ_CHECK(info.header.pageSize >= 512 && info.header.pageSize <= 65536);
  }

  bool checkpointed = false;
  {
    PagerOptions options;
    options.readOnly = readOnly;
    options.busyTimeoutMs = 0;
    std::unique_ptr<Pager> pager;
    Status s = Pager::open(path, options, &pager);
    checkCode(s, "open");
    if (s.isOk()) {
      s = pager->beginRead();
      checkCode(s, "beginRead");
    }
    if (s.isOk()) {
      const uint32_t pages = pager->pageCount();
      const uint32_t ps = pager->pageSize();
      if (pages > 0) {
        FUZZ_CHECK(ps >= 512 && ps <= 65536 && (ps & (ps - 1)) == 0);
        std::vector<uint8_t> buffer(size_t(ps) * 8);
        for (uint32_t first : {1u, pages > 8 ? pages - 7 : 1u}) {
          const uint32_t count = std::min<uint32_t>(8, pages - first + 1);
          Status r = pager->readPages(first, count, buffer.data());
          checkCode(r, "readPages");
        }
      }
      if (!walLayout && !readOnly && (flags & 128) && pages > 0 && !pager->isWal()) {
        std::vector<uint8_t> page1(ps);
        Status w = pager->readPages(1, 1, page1.data());
        if (w.isOk()) w = pager->beginWrite();
        if (w.isOk()) {
          w = pager->writeBytes(0, page1.data(), ps);
          if (w.isOk()) w = pager->commit(uint64_t(pages) * ps);
          if (!w.isOk()) pager->rollback();
        }
        checkCode(w, "write transaction");
      }
      checkCode(pager->endRead(), "endRead");
    }
    if (walLayout && !readOnly && (flags & 16) && pager) {
      bool isWal = false;
      Status c = pager->joinWal(&isWal);
      checkCode(c, "joinWal");
      if (c.isOk() && isWal) {
        c = pager->wal()->lockCheckpointer();
        checkCode(c, "lockCheckpointer");
        if (c.isOk()) {
          Wal::CheckpointProgress progress;
          checkCode(pager->wal()->checkpointStep(Wal::CheckpointMode::kPassive, 0, -1, pager->file(),
                                                  pager->pageSize(), &progress),
                    "checkpoint");
          pager->wal()->unlockCheckpointer();
          checkpointed = true;
        }
      }
    }
  }

  if (readOnly || (walLayout && !checkpointed)) FUZZ_CHECK(readFile(path) == dbBefore);
  if (readOnly || walLayout) {
    const std::string companion = path + (walLayout ? "-wal" : "-journal");
    // pagerOpenWalIfPresent: a read-write pager deletes a -wal beside a 0-page database (0 or 1
    // byte: unixFileSize reads a 1-byte file as empty).
    const bool staleWalDeleted = walLayout && !readOnly && db.size() <= 1 && access(companion.c_str(), F_OK) != 0;
    if (!staleWalDeleted) FUZZ_CHECK(readFile(companion) == secondBefore);
  }
  if (walLayout) holdDms(false);
  return 0;
}
