// Lowering and restoring one thread's CPU and I/O priority; see thread_priority.h.
#include "os/thread_priority.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace litevault {
namespace {

// <linux/ioprio.h> is missing from older kernel headers; these values are the kernel ABI.
constexpr int kIoprioWhoProcess = 1;  // IOPRIO_WHO_PROCESS: `who` is a thread id
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassNone = 0;
constexpr int kIoprioClassBestEffort = 2;
constexpr int kBackgroundLevel = 7;
constexpr int kBackgroundIoprio = (kIoprioClassBestEffort << kIoprioClassShift) | kBackgroundLevel;
constexpr int kBackgroundNice = 19;
constexpr int kCapSysNice = 23;  // CAP_SYS_NICE

// Cleared for good by a restore that failed although it was checked to be allowed.
std::atomic<bool> cpuLoweringOn{true};
std::atomic<bool> ioLoweringOn{true};

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

// Whether this thread may go back to nice `value` after raising its nice value: the kernel's
// can_nice(), RLIMIT_NICE or CAP_SYS_NICE (in the effective set).
bool mayLowerNiceTo(int value) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NICE, &limit) == 0 && (limit.rlim_cur == RLIM_INFINITY || rlim_t(20 - value) <= limit.rlim_cur)) return true;
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[kCapSysNice / 32].effective & (1u << (kCapSysNice % 32))) != 0;
}

// The I/O priority to give the thread back, or -1 to leave this thread's alone (see the header).
int ioprioToRestore(int found) {
  if (found < 0) return -1;
  const int cls = found >> kIoprioClassShift;
  const int level = found & ((1 << kIoprioClassShift) - 1);
  if (cls == kIoprioClassNone) return 0;
  if (cls == kIoprioClassBestEffort) return level < kBackgroundLevel ? found : -1;
  return -1;  // real-time (1: putting it back needs privilege), idle (3: lower already)
}

}  // namespace

BackgroundPriority::BackgroundPriority(bool on) {
  if (!on) return;
  tid_ = threadId();
  if (cpuLoweringOn.load(std::memory_order_relaxed) && niceGet(tid_, &nice_) && nice_ < kBackgroundNice && mayLowerNiceTo(nice_)) {
    niceLowered_ = niceSet(tid_, kBackgroundNice);
  }
  if (ioLoweringOn.load(std::memory_order_relaxed)) {
    ioprio_ = ioprioToRestore(ioprioGet(tid_));
    if (ioprio_ >= 0) ioLowered_ = ioprioSet(tid_, kBackgroundIoprio);
  }
}

BackgroundPriority::~BackgroundPriority() {
  // A failed restore could only leave this thread slower, never a job's results wrong; it stops
  // that kind of lowering for every later job, so no other thread is left lowered.
  if (ioLowered_ && !ioprioSet(tid_, ioprio_)) ioLoweringOn.store(false, std::memory_order_relaxed);
  if (niceLowered_ && !niceSet(tid_, nice_)) cpuLoweringOn.store(false, std::memory_order_relaxed);
}

}  // namespace litevault
