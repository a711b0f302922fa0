// Sync points for the test build; see sync_point.h. Compiles to nothing in the shipped build.
//
// One mutex guards a table of points by name; `pending` (the total of armed arrivals not yet
// consumed) lets reach() return after one relaxed load when nothing is armed. A paused thread
// waits for its point's `generation` to move (release/reset bump it), so a release lets go of
// exactly the threads paused before it, never one that arrives after; and a released thread no
// longer counts as paused, even before it wakes (so release(); arm(); waitArrived() waits for
// the NEXT arrival).
#include "os/sync_point.h"

#if defined(LITEVAULT_TESTING)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <mutex>

namespace litevault {
namespace syncpoint {
namespace {

struct Point {
  int armed = 0;            // arrivals that will still pause; >= 0
  int paused = 0;           // threads waiting here and not yet released; >= 0
  int sleepers = 0;         // threads still inside reach() here (the entry's lifetime); >= paused
  uint64_t generation = 0;  // bumped by release() and reset(); a paused thread waits for a change
};

std::mutex mutex;
std::condition_variable changed;  // any arrival, release or reset
std::map<std::string, Point> points;  // guarded by mutex; entries are never erased while sleepers > 0
std::atomic<int> pending{0};          // sum of Point::armed; written under mutex
uint64_t resets = 0;                  // guarded by mutex; bumped by reset(), ends every waitArrived()

}  // namespace

void reach(const char* name) {
  if (pending.load(std::memory_order_relaxed) == 0) return;
  std::unique_lock<std::mutex> lock(mutex);
  auto it = points.find(name);
  if (it == points.end() || it->second.armed == 0) return;
  Point& point = it->second;  // std::map nodes are stable, and this one is not erased while paused
  point.armed--;
  pending.fetch_sub(1, std::memory_order_relaxed);
  point.paused++;
  point.sleepers++;
  const uint64_t generation = point.generation;
  changed.notify_all();
  const bool released = changed.wait_for(lock, std::chrono::milliseconds(kMaxPauseMs),
                                         [&] { return point.generation != generation; });
  point.sleepers--;
  if (!released) point.paused--;  // release() and reset() already stopped counting it
  if (!released) {
    std::fprintf(stderr, "litevault sync point '%s': no release within %d ms; going on\n", name, kMaxPauseMs);
  }
}

void arm(const std::string& name, int count) {
  if (count < 1) return;
  std::lock_guard<std::mutex> lock(mutex);
  points[name].armed += count;
  pending.fetch_add(count, std::memory_order_relaxed);
}

bool waitArrived(const std::string& name, int timeoutMs) {
  std::unique_lock<std::mutex> lock(mutex);
  const uint64_t epoch = resets;
  bool arrived = false;
  changed.wait_for(lock, std::chrono::milliseconds(timeoutMs < 0 ? 0 : timeoutMs), [&] {
    auto it = points.find(name);
    arrived = it != points.end() && it->second.paused > 0;
    return arrived || resets != epoch;
  });
  return arrived;
}

void release(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = points.find(name);
  if (it == points.end()) return;
  it->second.generation++;
  it->second.paused = 0;
  changed.notify_all();
}

void reset() {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto it = points.begin(); it != points.end();) {
    it->second.armed = 0;
    it->second.generation++;
    it->second.paused = 0;
    it = it->second.sleepers > 0 ? std::next(it) : points.erase(it);
  }
  pending.store(0, std::memory_order_relaxed);
  resets++;
  changed.notify_all();
}

}  // namespace syncpoint
}  // namespace litevault

#endif  // LITEVAULT_TESTING
