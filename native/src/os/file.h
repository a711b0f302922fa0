// Files: one open file description per (device, inode) per process, parked rather than closed.
//
// Why not simply closed: close() on ANY descriptor of a file drops every POSIX lock this process
// holds on it, including the locks of another SQLite copy loaded in the same process
// (better-sqlite3, node:sqlite). SQLite's own unix VFS only protects its own connections
// (howtocorrupt.html §2.2, §2.3; reference §3). So a database, -wal or -shm file that litevault
// opens is registered by inode, and a second open reuses the descriptor. When no litevault
// handle uses it any more (releaseFile), it is PARKED: it stays open and registered, for the next
// open of the same inode to reuse. A parked descriptor is closed only once its file can no longer
// be reached by name (st_nlink == 0, so no other SQLite can open it and start locking it) and no
// other descriptor of this process refers to the inode (so nobody holds POSIX locks through it);
// every releaseFile() sweeps the parked files for such ones. So a long-running process keeps one
// descriptor per database it still reaches, and none for files that were deleted.
//
// Files that nobody else can know are never registered: a rollback journal (SQLite takes no locks
// on journals) and a new backup destination written under a private temporary name
// (createPrivateFile: O_EXCL, mode 0600). Those are owned by their user and closed with it.
//
// Why one description per inode: our locks are OFD locks (os/ofd_lock.h), which belong to the
// open file description. Two descriptions in one process would conflict with each other, so every
// litevault handle on a file shares this one and arbitrates above it.
//
// Paths: canonicalPath() resolves a path as SQLite's unixFullPathname does (absolute, every
// symlink resolved), so that <db>-journal, -wal and -shm are the files SQLite itself uses beside
// the real database, and a relative path survives a later chdir(). Paths are checked with stat()
// before anything is opened: a directory, FIFO or device is refused without opening it, and a
// path is never probed with open()+close().
//
// Companion files (journal, -wal, -shm) are created with the database file's permission bits and,
// when running as root, its owner, as SQLite's robust_open/findCreateFileMode do: a 0600
// database never gets a world-readable journal.
//
// Thread safety: openFile()/releaseFile() may be called from any thread (a mutex guards the
// registry). A File is immutable after open; readAt/writeAt/sync/truncate/size are plain
// syscalls that may be called concurrently (pread/pwrite carry their own offsets). Callers
// serialize writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace litevault {

enum class OpenIntent {
  kRead,    // existing file; opened read-write when permitted (so later writers share it), else read-only
  kWrite,   // existing file that must be writable
  kCreate,  // like kWrite, creating the file (mode 0644 & ~umask, or the companion's mode) when missing
};

// SQLite's rollback-mode lock levels (os_unix.c: NO_LOCK .. EXCLUSIVE_LOCK).
enum class DbLockLevel { kNone = 0, kShared = 1, kReserved = 2, kPending = 3, kExclusive = 4 };

// What all litevault connections in this process hold on one database inode, together. Because
// they share one open file description, the kernel cannot arbitrate between them; os/db_lock.cc
// does, with these counts (SQLite's unixInodeInfo.eFileLock / nShared). Guarded by `mutex`.
struct InodeLocks {
  std::mutex mutex;
  DbLockLevel strongest = DbLockLevel::kNone;  // the strongest level any of our connections holds
  int sharedHolders = 0;                       // our connections holding SHARED or more
};

class File {
 public:
  File(int fd, dev_t device, ino_t inode, bool writable, std::string path, bool owned = false)
      : fd_(fd), device_(device), inode_(inode), writable_(writable), owned_(owned), path_(std::move(path)) {}
  ~File();  // closes the descriptor only for an owned (unregistered) file
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const { return fd_; }
  dev_t device() const { return device_; }
  ino_t inode() const { return inode_; }
  bool writable() const { return writable_; }
  // The path this inode was first opened by (for messages).
  const std::string& path() const { return path_; }

  // Reads up to n bytes at offset; *got < n only at end of file. EINTR is retried.
  Status readAt(void* buffer, size_t n, uint64_t offset, size_t* got) const;
  // Reads exactly n bytes or fails with SQLITE_IOERR_SHORT_READ.
  Status readExactly(void* buffer, size_t n, uint64_t offset) const;
  Status writeAt(const void* buffer, size_t n, uint64_t offset) const;
  // writeAt() of n bytes that `from` holds at fromOffset, moved inside the kernel
  // (copy_file_range(2): no pass through user memory; on file systems that share extents, such
  // as XFS and Btrfs, none of the data is copied at all). *copied says how much moved: less than
  // n where `from` ends early, or where the kernel refuses these two files (*refused: EXDEV,
  // different file systems; EINVAL, EOPNOTSUPP, ENOSYS, EPERM: a file system or kernel without
  // it). The caller writes what is left itself. Other errors are write errors, as writeAt's.
  Status copyFrom(const File& from, uint64_t fromOffset, size_t n, uint64_t offset, size_t* copied, bool* refused) const;
  Status sync() const;
  // Asks the kernel to start writing [offset, offset+n) back to disk now (sync_file_range with
  // SYNC_FILE_RANGE_WRITE): it does not wait and promises nothing, so sync() is still what makes
  // data durable; it only lets the disk work while more is being copied, so that the final
  // sync() has less left to wait for. Errors are ignored.
  void startWriteback(uint64_t offset, uint64_t n) const;
  Status truncate(uint64_t size) const;
  Status size(uint64_t* out) const;

  // Process-wide lock bookkeeping for this inode; only os/db_lock.cc touches it.
  InodeLocks& dbLocks() const { return dbLocks_; }

 private:
  friend Status openFile(const std::string& path, OpenIntent intent, File** out, const std::string& modeOf);
  friend void releaseFile(File* file);
  friend void sweepParkedLocked();
  int users_ = 0;  // openFile() calls not yet matched by releaseFile(); guarded by the registry mutex
  mutable InodeLocks dbLocks_;
  const int fd_;
  const dev_t device_;
  const ino_t inode_;
  const bool writable_;
  const bool owned_;
  const std::string path_;
};

// Resolves `path` as SQLite's unixFullPathname does: made absolute against the current
// directory, and every symbolic link in it resolved (at most 100), so the result names the real
// file. The last element may be missing (a database to create), or a dangling symlink, which is
// followed to the file it would create. Errors: SQLITE_CANTOPEN (with the OS errno).
Status canonicalPath(const std::string& path, std::string* out);

// Returns the process's File for path (opening it on first use). *out stays valid until the
// matching releaseFile(). With kCreate and a non-empty `modeOf`, a file this call creates gets
// the permission bits (and, as root, the owner) of the file `modeOf` (its database).
// Errors: SQLITE_CANTOPEN (missing, not a regular file, no permission; the errno of the first
// open attempt), SQLITE_CANTOPEN_ISDIR, SQLITE_READONLY (kWrite/kCreate on a read-only file).
Status openFile(const std::string& path, OpenIntent intent, File** out, const std::string& modeOf = std::string());

// Undoes one openFile(); see the top of this file for when the descriptor is really closed.
void releaseFile(File* file);

// Creates `path`, which must not exist (O_EXCL), mode 0600, as a private file that is never
// registered: the new-destination temporary of a backup. Errors: SQLITE_CANTOPEN.
Status createPrivateFile(const std::string& path, std::unique_ptr<File>* out);


// Opens `path`, creating it (mode 0600) if missing, as a private file that only carries a
// whole-file OFD lock (a vault's locks/<name>.lock, never a database): never registered, and
// closed, which drops its lock, when *out is destroyed. A symlink at path is refused.
// Errors: SQLITE_CANTOPEN.
Status openLockFile(const std::string& path, std::unique_ptr<File>* out);

// Owns one openFile() reference and releases it when destroyed.
class FileRef {
 public:
  explicit FileRef(File* file = nullptr) : file_(file) {}
  ~FileRef() { releaseFile(file_); }
  FileRef(const FileRef&) = delete;
  FileRef& operator=(const FileRef&) = delete;
  File* get() const { return file_; }

 private:
  File* const file_;
};

// A file that nobody locks (a rollback journal: SQLite takes no locks on journals), opened
// privately, never registered, and closed when *out is destroyed, so a deleted journal's space
// is given back. `modeOf` as for openFile(). Never use this for a database, -wal or -shm file.
Status openUnlockedFile(const std::string& path, OpenIntent intent, std::unique_ptr<File>* out,
                        const std::string& modeOf = std::string());

// Removes a file by path (a committed or rolled-back journal). ENOENT is not an error.
Status removeFile(const std::string& path);

// fsync()s the directory that holds path, so a newly created file survives a power loss.
Status syncDirectoryOf(const std::string& path);

// What stat() says about path, without opening it. exists is false only for ENOENT.
// present() is SQLite's SQLITE_ACCESS_EXISTS (unixAccess): a 0-byte regular file counts as absent.
struct PathInfo {
  bool present() const { return exists && (!regular || size > 0); }
  bool exists = false;
  bool regular = false;
  uint64_t size = 0;
};
Status statPath(const std::string& path, PathInfo* out);

}  // namespace litevault
