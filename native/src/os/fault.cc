// Fault injection counters; see fault.h. Compiles to nothing in the shipped build.
#include "os/fault.h"

#if defined(LITEVAULT_TESTING)

#include <atomic>
#include <mutex>

namespace litevault {
namespace fault {
namespace {
std::atomic<bool> active{false};
std::mutex planMutex;
Plan current;     // guarded by planMutex
uint64_t count = 0;  // guarded by planMutex
}  // namespace

void setPlan(const Plan& plan) {
  std::lock_guard<std::mutex> guard(planMutex);
  current = plan;
  count = 0;
  active = true;  // counting also serves a plan with Mode::kOff (to measure a scenario)
}

uint64_t operations() {
  std::lock_guard<std::mutex> guard(planMutex);
  return count;
}

Verdict next(int* errnum) {
  if (!active.load(std::memory_order_relaxed)) return Verdict::kProceed;
  std::lock_guard<std::mutex> guard(planMutex);
  const uint64_t n = ++count;
  if (current.mode == Mode::kFail && n == current.at) {
    *errnum = current.errnum;
    return Verdict::kFail;
  }
  if (current.mode == Mode::kStop && n >= current.at) return Verdict::kSkip;
  return Verdict::kProceed;
}

}  // namespace fault
}  // namespace litevault

#endif  // LITEVAULT_TESTING
