// Test hooks for fault injection (see testing.cc and os/fault.h).
#pragma once

#include <napi.h>

namespace litevault {
Napi::Value setFaultPlan(const Napi::CallbackInfo& info);
Napi::Value faultOperations(const Napi::CallbackInfo& info);
}  // namespace litevault
