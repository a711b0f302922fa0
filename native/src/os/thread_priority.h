// Background priority for one threadpool job: a backup, checkpoint or vault step takes the CPU
// and the disk only when nothing else wants them, so that an application writing the database
// beside it does not notice the copy.
//
// Linux keeps the nice value and the I/O priority per thread (setpriority(2) with a thread id,
// ioprio_set(2) with IOPRIO_WHO_PROCESS and a thread id), so a job lowers only the libuv thread
// it runs on, and puts back what it found before the thread takes its next job: other work on
// that thread (the application's fs calls, zlib, DNS) keeps its priority. A value is lowered only
// where putting it back is allowed, checked for each job; a restore that fails anyway turns that
// kind of lowering off for the rest of the process, so at most one thread is ever left lowered.
//
//   CPU  nice 19 (the lowest; a thread already at 19 is left alone). A thread may raise its nice
//        value but lower it again only within RLIMIT_NICE (20 - nice <= the limit; the usual
//        limit, 0, allows none) or with CAP_SYS_NICE. Where neither allows it only the I/O
//        priority is lowered.
//   I/O  best-effort level 7, the lowest of the class every thread starts in (the idle class
//        could starve the copy for as long as other I/O lasts). A thread in the idle class or at
//        best-effort 7 already is left alone, as is one in the real-time class (putting that back
//        needs privilege). A thread whose class is none (its I/O priority follows its nice value;
//        kernels before 5.15 report it with level 4, which ioprio_set refuses) gets none again.
//        The I/O priority orders the requests this thread submits: reads, and the writeback it
//        starts (File::startWriteback) and waits for (fsync); the kernel's own flusher threads
//        write the rest at their own priority, and only I/O schedulers that honour priorities
//        (BFQ) act on it.
//
// Threads a job creates inherit both values, and live no longer than the job.
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

 private:
  long tid_ = 0;
  bool niceLowered_ = false;
  int nice_ = 0;  // what the thread had, put back by the destructor
  bool ioLowered_ = false;
  int ioprio_ = 0;  // likewise
};

}  // namespace litevault
