// Sync points: named places in the core where a TEST can make the thread that reaches them
// pause until the test has done something else (let real SQLite commit, checkpoint, take a
// lock), so an interleaving that is otherwise a race becomes a deterministic test. The models
// are RocksDB's SyncPoint and SQLite's test VFS.
//
// Compiled only into the test build of the addon (CMake -DLITEVAULT_TESTING=ON, which defines
// LITEVAULT_TESTING; build-test/Release/litevault.node). In the shipped build LV_SYNC_POINT(name)
// is an empty statement and this header declares nothing, so no hook can exist in a release.
//
// A point is armed with a count: the next `count` arrivals there pause. A paused thread waits on
// a condition variable until release(name) or reset(); it never waits longer than 30 s
// (kMaxPauseMs): then it logs to stderr and goes on, so a test that forgets to release fails
// slowly instead of hanging. Unarmed, reach() costs one relaxed atomic load.
//
// Usage in the core (keep each insertion one line):   LV_SYNC_POINT("after-header-read");
// Usage in a test: arm("x", 1); start the operation on another thread; waitArrived("x", ms);
// act; release("x").
//
// Thread safety: every function may be called from any thread. reach() is called by the core's
// threads (libuv threadpool); arm/waitArrived/release/reset by the test (addon/testing.cc).
#pragma once

#if defined(LITEVAULT_TESTING)

#include <string>

#define LV_SYNC_POINT(name) ::litevault::syncpoint::reach(name)

namespace litevault {
namespace syncpoint {

constexpr int kMaxPauseMs = 30000;

// Pauses the calling thread if `name` is armed (and consumes one of its arrivals).
void reach(const char* name);
// The next `count` arrivals at `name` pause (count >= 1; adds to what is still armed there).
void arm(const std::string& name, int count);
// Waits up to timeoutMs for a thread to be paused at `name`; true once one is (at once if one
// already is), false on timeout or when reset() is called meanwhile.
bool waitArrived(const std::string& name, int timeoutMs);
// Lets every thread paused at `name` go on (arrivals still armed there keep pausing).
void release(const std::string& name);
// Disarms every point and releases every paused thread.
void reset();

}  // namespace syncpoint
}  // namespace litevault

#else

#define LV_SYNC_POINT(name) \
  do {                      \
  } while (0)

#endif
