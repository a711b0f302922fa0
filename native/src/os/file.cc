// The per-process file registry and the syscall wrappers; see file.h for the rules.
#include "os/file.h"

#include "os/fault.h"

#include <errno.h>
#include <fcntl.h>  // sync_file_range: g++ defines _GNU_SOURCE
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/sysmacros.h>

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

// Invariant: every File in the map stays open and allocated until the process exits; entries
// are never removed. Guarded by registryMutex.
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

Status openFile(const std::string& path, OpenIntent intent, File** out) {
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
  int flags = O_RDWR | common | (intent == OpenIntent::kCreate ? O_CREAT : 0);
  bool writable = true;
  int fd;
  do fd = open(path.c_str(), flags, 0644); while (fd < 0 && errno == EINTR);
  if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
    writable = false;
    do fd = open(path.c_str(), O_RDONLY | common); while (fd < 0 && errno == EINTR);
  }
  if (fd < 0) {
    return Status::fromErrno(Code::kCantOpen, "cannot open '" + path + "'", errno);
  }
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

// Whether closing `fd` could drop locks another library in this process relies on: true if
// /proc/locks lists a POSIX lock of this process on the inode, or if any other descriptor of
// this process refers to it (another SQLite with the file open may lock it at any moment; a
// POSIX lock cannot exist without such a descriptor). When in doubt (no /proc), true.
bool othersMayLock(int fd, dev_t device, ino_t inode) {
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
  if (shared) return true;

  FILE* locks = fopen("/proc/locks", "re");
  if (locks == nullptr) return true;
  const long self = static_cast<long>(getpid());
  char line[512];
  bool held = false;
  while (!held && fgets(line, sizeof(line), locks) != nullptr) {
    char kind[32], mode[32], type[32];
    long pid = 0;
    unsigned int maj = 0, min = 0;
    unsigned long long ino = 0;
    // "1: POSIX  ADVISORY  READ 1234 fd:01:5678 1073741826 1073742335"
    if (sscanf(line, "%*d: %31s %31s %31s %ld %x:%x:%llu", kind, mode, type, &pid, &maj, &min, &ino) != 7) continue;
    held = std::strcmp(kind, "POSIX") == 0 && pid == self && maj == major(device) && min == minor(device) &&
           ino == static_cast<unsigned long long>(inode);
  }
  fclose(locks);
  return held;
}

void releaseFile(File* file) {
  if (file == nullptr) return;
  std::lock_guard<std::mutex> guard(registryMutex);
  if (--file->users_ > 0) return;
  // Nobody of ours uses it. Close it (giving back the descriptor, and the space of a deleted
  // file) unless another library in this process has it open or holds POSIX locks on it; then
  // it stays registered, parked, for the next open to reuse.
  if (othersMayLock(file->fd(), file->device(), file->inode())) return;
  registry().erase(InodeKey{file->device(), file->inode()});
  close(file->fd());
  delete file;
}

File::~File() {
  if (owned_) close(fd_);
}

Status openUnlockedFile(const std::string& path, OpenIntent intent, std::unique_ptr<File>* out) {
  out->reset();
  int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
              (intent == OpenIntent::kRead ? O_RDONLY : O_RDWR) | (intent == OpenIntent::kCreate ? O_CREAT : 0);
  int fd;
  do fd = open(path.c_str(), flags, 0644); while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::fromErrno(Code::kCantOpen, "cannot open '" + path + "'", errno);
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

Status File::readAt(void* buffer, size_t n, uint64_t offset, size_t* got) const {
  size_t done = 0;
  auto* bytes = static_cast<unsigned char*>(buffer);
  while (done < n) {
    ssize_t r = pread(fd_, bytes + done, n - done, static_cast<off_t>(offset + done));
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
    ssize_t w = pwrite(fd_, bytes + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      Code code = (errno == ENOSPC || errno == EDQUOT) ? Code::kFull : Code::kIoErrWrite;
      return Status::fromErrno(code, "cannot write '" + path_ + "'", errno);
    }
    done += static_cast<size_t>(w);
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
