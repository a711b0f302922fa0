// Test hooks of the TEST build only (LITEVAULT_TESTING; see os/sync_point.h and os/fault.h).
// The shipped build compiles none of this and registers no hook on the binding.
#pragma once

#if defined(LITEVAULT_TESTING)

#include <napi.h>

namespace litevault {
// Adds setFaultPlan, faultOperations and syncPoint{Arm,Wait,Release,Reset} to `exports`, and an
// environment cleanup hook that resets every sync point and the fault plan, so a paused
// threadpool thread never holds up the end of a process or worker.
void registerTestHooks(Napi::Env env, Napi::Object exports);
}  // namespace litevault

#endif  // LITEVAULT_TESTING
