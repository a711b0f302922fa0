// -shm mapping, DMS and lock arbitration; see shm.h.
#include "os/shm.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "os/ofd_lock.h"
#include "os/shm_layout.h"

namespace litevault {
namespace {

std::mutex nodesMutex;
std::map<const File*, ShmNode*>& nodes() {
  // A node lives until a deleting detach() (the last-close rule) frees it.
  static auto* all = new std::map<const File*, ShmNode*>();
  return *all;
}

std::mutex barrierMutex;

// unixShmRegionPerMap: regions are mapped in groups that span whole OS pages (one region on 4 KiB
// and 16 KiB page kernels, two on 64 KiB ones), since mmap offsets must be page-aligned.
uint32_t regionsPerMap() {
  static const uint32_t perMap = [] {
    const long page = sysconf(_SC_PAGESIZE);
    return page > long(kShmRegionSize) ? static_cast<uint32_t>(page / long(kShmRegionSize)) : 1u;
  }();
  return perMap;
}

}  // namespace

void ShmNode::barrier() {
  __sync_synchronize();
  std::lock_guard<std::mutex> guard(barrierMutex);
}

Status ShmNode::attach(const std::string& dbPath, ShmNode** out) {
  *out = nullptr;
  File* file = nullptr;
  const std::string path = dbPath + "-shm";
  Status opened = openFile(path, OpenIntent::kCreate, &file, dbPath);
  if (opened.code() == Code::kReadOnly) {
    return Status::error(Code::kReadOnlyCantInit, "cannot use '" + path + "': the -shm file is read-only");
  }
  LV_RETURN_IF_ERROR(opened);

  // nodesMutex is held throughout, so a deleting detach() cannot free the node meanwhile.
  std::lock_guard<std::mutex> nodesGuard(nodesMutex);
  // A node nobody of ours is attached to, whose -shm another process has since deleted (SQLite's
  // last closer does, unixShmUnmap), can never be found again: free it and release its file, so
  // a long-running process keeps no descriptor per -shm lifetime.
  for (auto it = nodes().begin(); it != nodes().end();) {
    ShmNode* idle = it->second;
    struct stat st;
    if (idle->file_ != file && idle->attachments_ == 0 && fstat(idle->file_->fd(), &st) == 0 && st.st_nlink == 0) {
      it = nodes().erase(it);
      File* idleFile = idle->file_;
      delete idle;
      releaseFile(idleFile);
    } else {
      ++it;
    }
  }
  ShmNode* node;
  auto found = nodes().find(file);
  if (found == nodes().end()) {
    node = nodes().emplace(file, new ShmNode(file)).first->second;  // the node keeps this reference
  } else {
    node = found->second;
    releaseFile(file);  // the node already holds one reference
  }
  std::lock_guard<std::mutex> guard(node->mutex_);
  if (node->attachments_ == 0) {
    bool held = false;
    pid_t holder = 0;
    LV_RETURN_IF_ERROR(probeLock(*file, LockType::kWrite, kShmDmsByte, 1, &held, &holder));
    if (held) {
      // unixLockSharedMemory: a WRITE-held DMS means someone is initializing: SQLITE_BUSY.
      bool writeHeld = false;
      LV_RETURN_IF_ERROR(probeLock(*file, LockType::kRead, kShmDmsByte, 1, &writeHeld));
      if (writeHeld) return Status::error(Code::kBusy, "'" + path + "' is being initialized by another connection");
    }
    if (!held) {
      // Nobody uses this WAL: we initialize. Truncating makes every reader rebuild the index.
      LV_RETURN_IF_ERROR(setLock(*file, LockType::kWrite, kShmDmsByte, 1));
      Status truncated = file->truncate(3);
      if (!truncated.isOk()) {
        setLock(*file, LockType::kUnlock, kShmDmsByte, 1);
        return truncated;
      }
    }
    // Readers hold it (or the initializer just downgraded): join them. A writer that took it
    // since the probe makes this BUSY too.
    LV_RETURN_IF_ERROR(setLock(*file, LockType::kRead, kShmDmsByte, 1));
  }
  node->attachments_++;
  *out = node;
  return Status::ok();
}

void ShmNode::detach(bool deleteFile) {
  std::lock_guard<std::mutex> nodesGuard(nodesMutex);
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (--attachments_ > 0) return;
    const uint32_t perMap = regionsPerMap();
    for (size_t i = 0; i < regions_.size(); i += perMap) {  // each group was one mapping
      if (regions_[i] != nullptr) munmap(regions_[i], perMap * kShmRegionSize);
    }
    regions_.clear();
    // unixShmUnmap: the name goes before the DMS lock, so no new user finds it initialized.
    if (deleteFile) unlink(file_->path().c_str());
    setLock(*file_, LockType::kUnlock, kShmDmsByte, 1);
    if (!deleteFile) return;
  }
  nodes().erase(file_);
  File* file = file_;
  delete this;
  releaseFile(file);  // unreachable now: the registry closes it
}

Status ShmNode::region(uint32_t index, bool extend, uint8_t** out) {
  *out = nullptr;
  std::lock_guard<std::mutex> guard(mutex_);
  if (index < regions_.size() && regions_[index] != nullptr) {
    *out = regions_[index];
    return Status::ok();
  }
  // The group of regions holding `index`, mapped (and so first extended) as a whole.
  const uint32_t perMap = regionsPerMap();
  const uint32_t first = index - index % perMap;
  const uint64_t needed = (uint64_t(first) + perMap) * kShmRegionSize;
  uint64_t size = 0;
  LV_RETURN_IF_ERROR(file_->size(&size));
  if (size < needed) {
    if (!extend) return Status::ok();
    // Grow the file by writing one byte at the end of every 4 KiB page, as unixShmMap does (so
    // every OS page, which is a multiple of 4 KiB, gets one), so the blocks really exist and a
    // full disk fails here rather than with SIGBUS later.
    static const uint8_t zero = 0;
    for (uint64_t at = (size / 4096 + 1) * 4096 - 1; at < needed; at += 4096) {
      if (at >= size) {
        Status s = file_->writeAt(&zero, 1, at);
        if (!s.isOk()) return Status::error(Code::kIoErrShmSize, s.message(), s.errnum());
      }
    }
  }
  // Never map past the end of the file: touching such a page raises SIGBUS.
  LV_RETURN_IF_ERROR(file_->size(&size));
  if (size < needed) {
    return Status::error(Code::kIoErrShmSize, "'" + file_->path() + "' could not be extended to " + std::to_string(needed) + " bytes");
  }
  void* mapped = mmap(nullptr, perMap * kShmRegionSize, PROT_READ | PROT_WRITE, MAP_SHARED, file_->fd(),
                      static_cast<off_t>(uint64_t(first) * kShmRegionSize));
  if (mapped == MAP_FAILED) {
    return Status::fromErrno(Code::kIoErrShmMap, "cannot map '" + file_->path() + "'", errno);
  }
  if (regions_.size() < size_t(first) + perMap) regions_.resize(size_t(first) + perMap, nullptr);
  for (uint32_t k = 0; k < perMap; k++) regions_[first + k] = static_cast<uint8_t*>(mapped) + size_t(k) * kShmRegionSize;
  *out = regions_[index];
  return Status::ok();
}

Status ShmLocks::lock(int first, int count, bool exclusive) {
  std::lock_guard<std::mutex> guard(node_.mutex_);
  const File& file = *node_.file_;
  if (!exclusive) {
    // Shared locks are taken one byte at a time (SQLite never asks for more).
    const int i = first;
    if (holdsShared(i) || holdsExclusive(i)) return Status::ok();
    if (node_.lockCount_[i] < 0) {
      return Status::error(Code::kBusy, "'" + node_.path() + "' is locked by another handle in this process");
    }
    if (node_.lockCount_[i] == 0) LV_RETURN_IF_ERROR(setLock(file, LockType::kRead, kShmLockBase + i, 1));
    node_.lockCount_[i]++;
    sharedMask_ |= uint8_t(1u << i);
    return Status::ok();
  }
  for (int i = first; i < first + count; i++) {
    if (holdsExclusive(i)) continue;
    // unixShmLock: any holder in this process, this very connection's shared lock included, is
    // BUSY. A shared lock is never upgraded: that would let the unlock that follows drop a read
    // lock this connection's snapshot depends on.
    if (node_.lockCount_[i] != 0) {
      return Status::error(Code::kBusy, holdsShared(i) ? "'" + node_.path() + "' lock " + std::to_string(i) +
                                                             " is held shared by this same connection"
                                                       : "'" + node_.path() + "' is locked by another handle in this process");
    }
  }
  LV_RETURN_IF_ERROR(setLock(file, LockType::kWrite, kShmLockBase + first, count));
  for (int i = first; i < first + count; i++) {
    node_.lockCount_[i] = -1;
    exclusiveMask_ |= uint8_t(1u << i);
  }
  return Status::ok();
}

Status ShmLocks::unlock(int first, int count, bool exclusive) {
  std::lock_guard<std::mutex> guard(node_.mutex_);
  const File& file = *node_.file_;
  Status result;
  for (int i = first; i < first + count; i++) {
    if (exclusive && holdsExclusive(i)) {
      Status s = setLock(file, LockType::kUnlock, kShmLockBase + i, 1);
      if (result.isOk()) result = s;
      node_.lockCount_[i] = 0;
      exclusiveMask_ &= uint8_t(~(1u << i));
    } else if (!exclusive && holdsShared(i)) {
      if (--node_.lockCount_[i] == 0) {
        Status s = setLock(file, LockType::kUnlock, kShmLockBase + i, 1);
        if (result.isOk()) result = s;
      }
      sharedMask_ &= uint8_t(~(1u << i));
    }
  }
  return result;
}

void ShmLocks::releaseAll() {
  for (int i = 0; i < 8; i++) {
    if (holdsExclusive(i)) unlock(i, 1, true);
    if (holdsShared(i)) unlock(i, 1, false);
  }
}

}  // namespace litevault
