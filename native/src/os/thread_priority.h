// Background priority for one threadpool job: a backup, checkpoint or vault step takes the CPU
// and the disk only when nothing else wants them, so that an application writing the database
// beside it does not notice the copy.
//
// Linux keeps the nice value and the I/O priority per thread (setpriority(2) with a thread id,
// ioprio_set(2) with IOPRIO_WHO_PROCESS and a thread id), so a job lowers only the libuv thread
// it runs on, and puts back what it found before the thread takes its next job: other work on
// that thread (the application's fs calls, zlib, DNS) keeps its priority.
//
//   CPU  nice 19 (the lowest; a thread already nicer keeps its value). An unprivileged thread may
//        raise its nice value but lower it again only as far as RLIMIT_NICE allows (usually not
//        at all), so the CPU part is used only where putting the value back is allowed. That is
//        learned once per process, in a thread of its own that is thrown away (a failed restore
//        there costs nothing). Where it is not allowed only the I/O priority is lowered.
//   I/O  best-effort level 7, the lowest of the class every thread starts in (the idle class
//        could starve the copy for as long as other I/O lasts). Any thread may set best-effort
//        levels for itself, so this is always put back. It orders the requests this thread
//        submits: reads, and the writeback it starts (File::startWriteback) and waits for
//        (fsync); the kernel's own flusher threads write the rest at their own priority.
//
// Threads a job creates (a vault scan's compression threads) inherit both values, and live no
// longer than the job's owner.
//
// Thread safety: a BackgroundPriority is made and destroyed on one thread, the one it lowers.
#pragma once

namespace litevault {

class BackgroundPriority {
 public:
  // on == false does nothing (the 'normal' priority a caller asked for).
  explicit BackgroundPriority(bool on);
  ~BackgroundPriority();
  BackgroundPriority(const BackgroundPriority&) = delete;
  BackgroundPriority& operator=(const BackgroundPriority&) = delete;

  // Whether this process may put a raised nice value back (see above); computed once.
  static bool cpuRestorable();

 private:
  long tid_ = 0;
  bool niceLowered_ = false;
  int nice_ = 0;
  bool ioLowered_ = false;
  int ioprio_ = 0;
};

}  // namespace litevault
