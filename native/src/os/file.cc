// The per-process file registry and the syscall wrappers; see file.h for the rules.
#include "os/file.h"

#include "os/fault.h"

#include <errno.h>
#include <fcntl.h>  // sync_file_range: g++ defines _GNU_SOURCE
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/syscall.h>
#include <algorithm>
#include <climits>

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

namespace litevault {
namespace {

struct InodeKey {
  dev_t device;
  ino_t inode;
  bool operator<(const InodeKey& o) const {
    return device != o.device ? device < o.device : inode < o.inode;
  }
};

// Invariant: a File in the map stays open and allocated while it is registered; it leaves the
// map (and is closed) only in sweepParkedLocked(), once no user, no name and no other
// descriptor of this process can reach its inode. Guarded by registryMutex.
std::mutex registryMutex;
std::map<InodeKey, File*>& registry() {
  static auto* files = new std::map<InodeKey, File*>();
  return *files;
}

Status notRegular(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) {
    return Status::error(Code::kCantOpenIsDir, "cannot open '" + path + "': it is a directory");
  }
  return Status::error(Code::kCantOpen, "cannot open '" + path + "': not a regular file");
}

Status checkWritable(File* file, OpenIntent intent) {
  if (intent != OpenIntent::kRead && !file->writable()) {
    return Status::error(Code::kReadOnly,
                         "cannot write '" + file->path() + "': the file is read-only to this process");
  }
  return Status::ok();
}

}  // namespace

// Applies the fault plan: *skip when the operation must silently not happen; a failure is
// returned as if the syscall had set errno.
#define LV_FAULT_POINT(code, what)                                                     \
  do {                                                                                 \
    int injected = 0;                                                                  \
    switch (fault::next(&injected)) {                                                  \
      case fault::Verdict::kFail:                                                      \
        return Status::fromErrno(injected == ENOSPC ? Code::kFull : (code), what, injected); \
      case fault::Verdict::kSkip:                                                      \
        return Status::ok();                                                           \
      case fault::Verdict::kProceed:                                                   \
        break;                                                                         \
    }                                                                                  \
  } while (0)

Status statPath(const std::string& path, PathInfo* out) {
  *out = PathInfo();
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::ok();
    return Status::fromErrno(Code::kCantOpen, "cannot stat '" + path + "'", errno);
  }
  out->exists = true;
  out->regular = S_ISREG(st.st_mode);
  out->size = static_cast<uint64_t>(st.st_size);
  return Status::ok();
}

namespace {

// The mode (and, as root, owner) SQLite gives a companion file of `modeOf` (findCreateFileMode),
// applied to a file this process just created through fd (robust_open: only when it is empty).
void applyCompanionMode(int fd, const std::string& modeOf) {
  if (modeOf.empty()) return;
  struct stat db;
  if (stat(modeOf.c_str(), &db) != 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size != 0) return;
  if ((st.st_mode & 0777) != (db.st_mode & 0777)) (void)fchmod(fd, db.st_mode & 0777);
  if (geteuid() == 0 && (st.st_uid != db.st_uid || st.st_gid != db.st_gid)) (void)fchown(fd, db.st_uid, db.st_gid);
}

int openRetrying(const char* path, int flags, mode_t mode) {
  int fd;
  do fd = open(path, flags, mode); while (fd < 0 && errno == EINTR);
  return fd;
}

// Whether another descriptor of this process (not `fd`) refers to device:inode; when in doubt
// (no /proc), true.
bool otherDescriptorRefersTo(int fd, dev_t device, ino_t inode) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return true;
  bool shared = false;
  while (!shared) {
    struct dirent* entry = readdir(fds);
    if (entry == nullptr) break;
    char* end = nullptr;
    const long n = strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != 0 || n == fd || n == dirfd(fds)) continue;
    struct stat st;
    if (fstat(static_cast<int>(n), &st) == 0) shared = st.st_dev == device && st.st_ino == inode;
  }
  closedir(fds);
  return shared;
}

}  // namespace

Status canonicalPath(const std::string& path, std::string* out) {
  out->clear();
  if (path.empty()) return Status::error(Code::kCantOpen, "cannot open '': empty path");
  std::string absolute = path;
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) {
      return Status::fromErrno(Code::kCantOpen, "cannot resolve '" + path + "': no current directory", errno);
    }
    absolute = std::string(cwd) + "/" + path;
  }
  // SQLITE_MAX_SYMLINKS: a chain of dangling links is followed at most this far.
  for (int links = 0; links < 100; links++) {
    char resolved[PATH_MAX];
    if (realpath(absolute.c_str(), resolved) != nullptr) {
      *out = resolved;
      return Status::ok();
    }
    if (errno != ENOENT) return Status::fromErrno(Code::kCantOpen, "cannot resolve '" + path + "'", errno);
    // The last element does not exist (yet): resolve its directory, and follow a dangling link.
    const size_t slash = absolute.rfind('/');
    const std::string dir = slash == 0 ? "/" : absolute.substr(0, slash);
    const std::string name = absolute.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") {
      return Status::error(Code::kCantOpen, "cannot resolve '" + path + "': no such file or directory", ENOENT);
    }
    struct stat st;
    if (lstat(absolute.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      const ssize_t n = readlink(absolute.c_str(), target, sizeof(target) - 1);
      if (n < 0) return Status::fromErrno(Code::kCantOpen, "cannot resolve '" + path + "'", errno);
      target[n] = 0;
      absolute = target[0] == '/' ? std::string(target) : dir + "/" + target;
      continue;
    }
    if (realpath(dir.c_str(), resolved) == nullptr) {
      return Status::fromErrno(Code::kCantOpen, "cannot resolve '" + path + "'", errno);
    }
    *out = std::string(resolved) + (std::string(resolved) == "/" ? "" : "/") + name;
    return Status::ok();
  }
  return Status::error(Code::kCantOpen, "cannot resolve '" + path + "': too many levels of symbolic links", ELOOP);
}

Status openFile(const std::string& path, OpenIntent intent, File** out, const std::string& modeOf) {
  *out = nullptr;
#if !defined(__linux__)
  // Our locks are Linux open-file-description locks; elsewhere we would have to fall back to
  // POSIX locks, which another SQLite copy in this process can silently lose (reference §3).
  return Status::error(Code::kCantOpen, "cannot open '" + path + "': litevault is not supported on this platform (it needs Linux OFD locks)");
#endif
  if (path.empty()) return Status::error(Code::kCantOpen, "cannot open '': empty path");

  std::lock_guard<std::mutex> guard(registryMutex);
  struct stat st;
  bool exists = stat(path.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) {
    return Status::fromErrno(Code::kCantOpen, "cannot open '" + path + "'", errno);
  }
  if (!exists && intent != OpenIntent::kCreate) {
    return Status::error(Code::kCantOpen, "cannot open '" + path + "': no such file", ENOENT);
  }
  if (exists) {
    if (!S_ISREG(st.st_mode)) return notRegular(path, st.st_mode);
    auto found = registry().find(InodeKey{st.st_dev, st.st_ino});
    if (found != registry().end()) {
      LV_RETURN_IF_ERROR(checkWritable(found->second, intent));
      found->second->users_++;
      *out = found->second;
      return Status::ok();
    }
  }

  // O_NONBLOCK: should the path turn into a FIFO after stat(), open() must not hang.
  const int common = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  const bool create = intent == OpenIntent::kCreate;
  bool writable = true;
  int fd = openRetrying(path.c_str(), O_RDWR | common | (create ? O_CREAT : 0), 0644);
  const int firstErrno = errno;
  // A file we may only read is opened read-only (a reader; writers fail below with READONLY).
  // A file that does not exist cannot be opened that way: the first error is the one to report.
  if (fd < 0 && exists && (errno == EACCES || errno == EROFS || errno == EPERM)) {
    writable = false;
    fd = openRetrying(path.c_str(), O_RDONLY | common, 0);
  }
  if (fd < 0) {
    const int err = exists && !writable && errno != ENOENT ? errno : firstErrno;
    return Status::fromErrno(Code::kCantOpen, "cannot open '" + path + "'", err);
  }
  if (create && !exists) applyCompanionMode(fd, modeOf);
  if (fstat(fd, &st) != 0) {
    // Not registered, so no lock can have been taken through it; but the file may be a database
    // that another library in this process holds POSIX locks on, so it is still not closed.
    return Status::fromErrno(Code::kIoErrFstat, "cannot stat '" + path + "'", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);  // a FIFO or device that appeared after stat(): nobody holds SQLite locks on it
    return notRegular(path, st.st_mode);
  }
  InodeKey key{st.st_dev, st.st_ino};
  auto found = registry().find(key);
  if (found != registry().end()) {
    // The path was replaced by an inode we already hold between stat() and open(). Keep the
    // extra descriptor open (closing it would drop POSIX locks) and use the registered one.
    LV_RETURN_IF_ERROR(checkWritable(found->second, intent));
    found->second->users_++;
    *out = found->second;
    return Status::ok();
  }
  File* file = new File(fd, st.st_dev, st.st_ino, writable, path);
  registry().emplace(key, file);
  LV_RETURN_IF_ERROR(checkWritable(file, intent));
  file->users_++;
  *out = file;
  return Status::ok();
}

// Closes every parked file (no litevault user) whose name is gone (st_nlink == 0: nobody can
// open it any more) and that no other descriptor of this process refers to (nobody can hold a
// POSIX lock on it). Called with registryMutex held.
void sweepParkedLocked() {
  for (auto it = registry().begin(); it != registry().end();) {
    File* file = it->second;
    struct stat st;
    const bool gone = file->users_ == 0 && fstat(file->fd(), &st) == 0 && st.st_nlink == 0 &&
                      !otherDescriptorRefersTo(file->fd(), file->device(), file->inode());
    if (!gone) {
      ++it;
      continue;
    }
    it = registry().erase(it);
    close(file->fd());  // unreachable by name and by any other descriptor: no lock can be dropped
    delete file;
  }
}

void releaseFile(File* file) {
  if (file == nullptr) return;
  std::lock_guard<std::mutex> guard(registryMutex);
  if (--file->users_ > 0) return;
  // Parked: it stays open for reuse while the file can still be reached by name.
  sweepParkedLocked();
}

File::~File() {
  if (owned_) close(fd_);
}

Status createPrivateFile(const std::string& path, std::unique_ptr<File>* out) {
  out->reset();
  const int fd = openRetrying(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return Status::fromErrno(Code::kCantOpen, "cannot create '" + path + "'", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);  // our own new file: nobody else knows it
    return Status::fromErrno(Code::kIoErrFstat, "cannot stat '" + path + "'", err);
  }
  out->reset(new File(fd, st.st_dev, st.st_ino, true, path, /*owned=*/true));
  return Status::ok();
}

Status openLockFile(const std::string& path, std::unique_ptr<File>* out) {
  out->reset();
  const int fd = openRetrying(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0) return Status::fromErrno(Code::kCantOpen, "cannot open lock file '" + path + "'", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);  // a lock file: nobody locks it through another descriptor of ours
    return Status::fromErrno(Code::kIoErrFstat, "cannot stat '" + path + "'", err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return notRegular(path, st.st_mode);
  }
  out->reset(new File(fd, st.st_dev, st.st_ino, true, path, /*owned=*/true));
  return Status::ok();
}

Status openUnlockedFile(const std::string& path, OpenIntent intent, std::unique_ptr<File>* out, const std::string& modeOf) {
  out->reset();
  int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
              (intent == OpenIntent::kRead ? O_RDONLY : O_RDWR) | (intent == OpenIntent::kCreate ? O_CREAT : 0);
  int fd = openRetrying(path.c_str(), flags, 0644);
  if (fd < 0) return Status::fromErrno(Code::kCantOpen, "cannot open '" + path + "'", errno);
  if (intent == OpenIntent::kCreate) applyCompanionMode(fd, modeOf);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Status::fromErrno(Code::kIoErrFstat, "cannot stat '" + path + "'", err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return notRegular(path, st.st_mode);
  }
  out->reset(new File(fd, st.st_dev, st.st_ino, intent != OpenIntent::kRead, path, /*owned=*/true));
  return Status::ok();
}


Status removeFile(const std::string& path) {
  LV_FAULT_POINT(Code::kIoErr, "cannot delete '" + path + "'");
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::fromErrno(Code::kIoErr, "cannot delete '" + path + "'", errno);
  }
  return Status::ok();
}

Status syncDirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  LV_FAULT_POINT(Code::kIoErrFsync, "cannot sync directory '" + dir + "'");
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::fromErrno(Code::kIoErrFsync, "cannot open directory '" + dir + "'", errno);
  int r;
  do r = fsync(fd); while (r != 0 && errno == EINTR);
  int err = errno;
  close(fd);  // a directory: nobody holds SQLite locks on it
  if (r != 0) return Status::fromErrno(Code::kIoErrFsync, "cannot sync directory '" + dir + "'", err);
  return Status::ok();
}

// The most one read, write or kernel copy asks of the kernel at a time. A kernel that does not
// preempt system calls (PREEMPT_NONE, as many server and VM kernels run) leaves a thread inside
// a 4 MiB pwrite or copy_file_range on its CPU for milliseconds, and the Node main thread, once
// woken onto that CPU, waits that long for its timers (perf sched: the main thread's longest
// waits were behind a step thread). A 256 KiB call returns to user mode, where the waiting
// thread gets the CPU, after 0.17 ms at the median (1 GiB backup, strace). The 16x more calls
// cost no measurable CPU (bench/PROFILES.md).
constexpr size_t kMaxCallBytes = 256 * 1024;

Status File::readAt(void* buffer, size_t n, uint64_t offset, size_t* got) const {
  size_t done = 0;
  auto* bytes = static_cast<unsigned char*>(buffer);
  while (done < n) {
    ssize_t r = pread(fd_, bytes + done, std::min(n - done, kMaxCallBytes), static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      *got = done;
      return Status::fromErrno(Code::kIoErrRead, "cannot read '" + path_ + "'", errno);
    }
    if (r == 0) break;  // end of file
    done += static_cast<size_t>(r);
  }
  *got = done;
  return Status::ok();
}

Status File::readExactly(void* buffer, size_t n, uint64_t offset) const {
  size_t got = 0;
  LV_RETURN_IF_ERROR(readAt(buffer, n, offset, &got));
  if (got != n) {
    return Status::error(Code::kIoErrShortRead, "cannot read '" + path_ + "': file ends at byte " +
                                                     std::to_string(offset + got));
  }
  return Status::ok();
}

Status File::writeAt(const void* buffer, size_t n, uint64_t offset) const {
  LV_FAULT_POINT(Code::kIoErrWrite, "cannot write '" + path_ + "'");
  size_t done = 0;
  const auto* bytes = static_cast<const unsigned char*>(buffer);
  while (done < n) {
    ssize_t w = pwrite(fd_, bytes + done, std::min(n - done, kMaxCallBytes), static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      Code code = (errno == ENOSPC || errno == EDQUOT) ? Code::kFull : Code::kIoErrWrite;
      return Status::fromErrno(code, "cannot write '" + path_ + "'", errno);
    }
    if (w == 0) {
      // pwrite() wrote nothing and reported no error: retrying would loop forever.
      return Status::error(Code::kIoErrWrite, "cannot write '" + path_ + "': the system wrote 0 bytes", EIO);
    }
    done += static_cast<size_t>(w);
  }
  return Status::ok();
}

Status File::copyFrom(const File& from, uint64_t fromOffset, size_t n, uint64_t offset, size_t* copied, bool* refused) const {
  *copied = 0;
  *refused = false;
  LV_FAULT_POINT(Code::kIoErrWrite, "cannot write '" + path_ + "'");
  while (*copied < n) {
    loff_t in = static_cast<loff_t>(fromOffset + *copied);
    loff_t out = static_cast<loff_t>(offset + *copied);
    ssize_t w = copy_file_range(from.fd_, &in, fd_, &out, std::min(n - *copied, kMaxCallBytes), 0);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS || errno == EPERM) {
        *refused = true;
        return Status::ok();
      }
      Code code = (errno == ENOSPC || errno == EDQUOT) ? Code::kFull : Code::kIoErrWrite;
      return Status::fromErrno(code, "cannot write '" + path_ + "' (copying from '" + from.path_ + "')", errno);
    }
    if (w == 0) {
      // The end of `from`, or a file system that copies nothing without saying why (then this
      // is a refusal, so the caller stops trying).
      struct stat st;
      if (fstat(from.fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) > static_cast<uint64_t>(in)) *refused = true;
      return Status::ok();
    }
    *copied += static_cast<size_t>(w);
  }
  return Status::ok();
}

Status File::sync() const {
  LV_FAULT_POINT(Code::kIoErrFsync, "cannot sync '" + path_ + "'");
  int r;
  do r = fdatasync(fd_); while (r != 0 && errno == EINTR);
  if (r != 0) return Status::fromErrno(Code::kIoErrFsync, "cannot sync '" + path_ + "'", errno);
  return Status::ok();
}

void File::startWriteback(uint64_t offset, uint64_t n) const {
#if defined(__linux__)
  sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
#else
  (void)offset;
  (void)n;
#endif
}

Status File::truncate(uint64_t size) const {
  LV_FAULT_POINT(Code::kIoErrTruncate, "cannot truncate '" + path_ + "'");
  int r;
  do r = ftruncate(fd_, static_cast<off_t>(size)); while (r != 0 && errno == EINTR);
  if (r != 0) {
    return Status::fromErrno(Code::kIoErrTruncate, "cannot truncate '" + path_ + "'", errno);
  }
  return Status::ok();
}

Status File::size(uint64_t* out) const {
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    return Status::fromErrno(Code::kIoErrFstat, "cannot stat '" + path_ + "'", errno);
  }
  // unixFileSize: a 1-byte file reads as empty (some filesystems leave one byte behind when a
  // file is created); SQLite then treats such a database as having no pages.
  *out = st.st_size == 1 ? 0 : static_cast<uint64_t>(st.st_size);
  return Status::ok();
}

}  // namespace litevault
