// Fault injection for tests: the one place every disk-changing operation of the os layer
// (write, sync, truncate, delete, directory sync) passes through, so a test can make the N-th
// one fail (EIO, ENOSPC, ...) or make it and everything after it silently not happen, which
// leaves the files exactly as a crash at that instant would (LevelDB's fault-injection Env).
//
// Off by default: the cost is one relaxed atomic load per operation. Writes through the -shm
// mapping are memory stores and are not counted; a test that "stops" must close its handles
// before judging, so that SQLite rebuilds the wal-index from the -wal as after a real crash.
//
// Test build only (LITEVAULT_TESTING, see os/sync_point.h): in the shipped build next() is an
// inline "proceed" the compiler folds away, and nothing else is declared.
//
// Thread safety: all functions may be called from any thread.
#pragma once

#include <cstdint>

namespace litevault {
namespace fault {

enum class Verdict { kProceed, kFail, kSkip };

#if defined(LITEVAULT_TESTING)

enum class Mode { kOff, kFail, kStop };

struct Plan {
  Mode mode = Mode::kOff;
  uint64_t at = 0;  // the 1-based operation that fails, or from which on nothing happens
  int errnum = 5;   // EIO
};

// Installs a plan and restarts the operation count.
void setPlan(const Plan& plan);
// Operations counted since the last setPlan().
uint64_t operations();

// Called by the os layer before each disk-changing operation.
Verdict next(int* errnum);

#else

// The shipped build: every operation proceeds.
inline Verdict next(int* /*errnum*/) { return Verdict::kProceed; }

#endif

}  // namespace fault
}  // namespace litevault
