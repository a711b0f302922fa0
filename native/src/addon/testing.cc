// Test hooks, not part of the public API (lib/ does not re-export them):
//   binding.setFaultPlan({mode: 'off'|'fail'|'stop', at, errno})   see os/fault.h
//   binding.faultOperations() -> number of disk-changing operations since the last plan
#include <errno.h>
#include <napi.h>

#include <string>

#include "addon/errors.h"
#include "addon/testing.h"
#include "os/fault.h"

namespace litevault {

Napi::Value setFaultPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) return throwMisuse(env, "setFaultPlan({mode, at, errno})");
  Napi::Object o = info[0].As<Napi::Object>();
  fault::Plan plan;
  std::string mode = o.Get("mode").IsString() ? o.Get("mode").As<Napi::String>().Utf8Value() : "off";
  if (mode == "fail") {
    plan.mode = fault::Mode::kFail;
  } else if (mode == "stop") {
    plan.mode = fault::Mode::kStop;
  } else if (mode != "off") {
    return throwMisuse(env, "setFaultPlan(): mode must be 'off', 'fail' or 'stop'");
  }
  if (o.Get("at").IsNumber()) plan.at = static_cast<uint64_t>(o.Get("at").As<Napi::Number>().Int64Value());
  std::string err = o.Get("errno").IsString() ? o.Get("errno").As<Napi::String>().Utf8Value() : "EIO";
  plan.errnum = err == "ENOSPC" ? ENOSPC : EIO;
  fault::setPlan(plan);
  return env.Undefined();
}

Napi::Value faultOperations(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(fault::operations()));
}

}  // namespace litevault
