// Lowering and restoring one thread's CPU and I/O priority; see thread_priority.h.
#include "os/thread_priority.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace litevault {
namespace {

// <linux/ioprio.h> is missing from older kernel headers; these values are the kernel ABI.
constexpr int kIoprioWhoProcess = 1;  // IOPRIO_WHO_PROCESS: `who` is a thread id
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassBestEffort = 2;
constexpr int kBackgroundIoprio = (kIoprioClassBestEffort << kIoprioClassShift) | 7;
constexpr int kBackgroundNice = 19;

long threadId() { return syscall(SYS_gettid); }  // gettid() itself is glibc 2.30

int ioprioGet(long tid) { return static_cast<int>(syscall(SYS_ioprio_get, kIoprioWhoProcess, tid)); }
bool ioprioSet(long tid, int value) { return syscall(SYS_ioprio_set, kIoprioWhoProcess, tid, value) == 0; }

// getpriority() returns -1 both for nice -1 and for an error; errno tells them apart.
bool niceGet(long tid, int* out) {
  errno = 0;
  const int value = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (value == -1 && errno != 0) return false;
  *out = value;
  return true;
}
bool niceSet(long tid, int value) { return setpriority(PRIO_PROCESS, static_cast<id_t>(tid), value) == 0; }

bool probeCpuRestorable() {
  bool restorable = false;
  std::thread probe([&restorable] {
    const long tid = threadId();
    int found = 0;
    if (!niceGet(tid, &found)) return;
    if (found >= kBackgroundNice) {
      restorable = true;  // nothing would be lowered anyway
      return;
    }
    if (!niceSet(tid, found + 1)) return;
    restorable = niceSet(tid, found);
  });
  probe.join();
  return restorable;
}

}  // namespace

bool BackgroundPriority::cpuRestorable() {
  static const bool restorable = probeCpuRestorable();  // thread-safe initialization
  return restorable;
}

BackgroundPriority::BackgroundPriority(bool on) {
  if (!on) return;
  tid_ = threadId();
  if (cpuRestorable() && niceGet(tid_, &nice_) && nice_ < kBackgroundNice) {
    niceLowered_ = niceSet(tid_, kBackgroundNice);
  }
  ioprio_ = ioprioGet(tid_);
  if (ioprio_ >= 0 && ioprio_ != kBackgroundIoprio) ioLowered_ = ioprioSet(tid_, kBackgroundIoprio);
}

BackgroundPriority::~BackgroundPriority() {
  // Both restores are allowed (cpuRestorable(), and best-effort or none for I/O); a failure
  // could only leave this thread slower, never the job's results wrong.
  if (ioLowered_) ioprioSet(tid_, ioprio_);
  if (niceLowered_) niceSet(tid_, nice_);
}

}  // namespace litevault
