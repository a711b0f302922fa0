// Test hooks, registered on the binding only by the test build (LITEVAULT_TESTING); lib/ does
// not re-export them, test/oracle/testing-addon.ts wraps them:
//   binding.setFaultPlan({mode: 'off'|'fail'|'stop', at, errno})   see os/fault.h
//   binding.faultOperations() -> number of disk-changing operations since the last plan
//   binding.syncPointArm(name, count = 1)          the next `count` arrivals at `name` pause
//   binding.syncPointWait(name, timeoutMs) -> Promise<boolean>  (threadpool) true once one is paused
//   binding.syncPointRelease(name)                 lets the threads paused at `name` go on
//   binding.syncPointReset()                       disarms and releases everything
// Thread safety: the functions run on the main thread; syncPointWait's wait runs on the threadpool.
#include "addon/testing.h"

#if defined(LITEVAULT_TESTING)

#include <errno.h>
#include <napi.h>

#include <string>

#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "os/fault.h"
#include "os/sync_point.h"

namespace litevault {
namespace {

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

// The point name of argument 0, or "" (after throwing or rejecting is up to the caller).
std::string pointName(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) return "";
  return info[0].As<Napi::String>().Utf8Value();
}

Napi::Value syncPointArm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = pointName(info);
  if (name.empty()) return throwMisuse(env, "syncPointArm(name, count = 1): name must be a non-empty string");
  int64_t count = 1;
  if (info.Length() >= 2 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) return throwMisuse(env, "syncPointArm(name, count): count must be a number");
    const double value = info[1].As<Napi::Number>().DoubleValue();
    if (!(value >= 1 && value <= 1000000) || value != static_cast<double>(static_cast<int64_t>(value))) {
      return throwMisuse(env, "syncPointArm(name, count): count must be an integer from 1 to 1000000");
    }
    count = static_cast<int64_t>(value);
  }
  syncpoint::arm(name, static_cast<int>(count));
  return env.Undefined();
}

class SyncPointWaitWorker : public PromiseWorker {
 public:
  SyncPointWaitWorker(Napi::Env env, std::string name, int timeoutMs)
      : PromiseWorker(env, "litevault:syncPointWait"), name_(std::move(name)), timeoutMs_(timeoutMs) {}

 protected:
  Status Run() override {
    arrived_ = syncpoint::waitArrived(name_, timeoutMs_);
    return Status::ok();
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, arrived_); }

 private:
  const std::string name_;
  const int timeoutMs_;
  bool arrived_ = false;
};

Napi::Value syncPointWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = pointName(info);
  if (name.empty()) return rejectMisuse(env, "syncPointWait(name, timeoutMs): name must be a non-empty string");
  if (info.Length() < 2 || !info[1].IsNumber()) return rejectMisuse(env, "syncPointWait(name, timeoutMs): timeoutMs must be a number");
  const double ms = info[1].As<Napi::Number>().DoubleValue();
  if (!(ms >= 0 && ms <= syncpoint::kMaxPauseMs)) {
    return rejectMisuse(env, "syncPointWait(name, timeoutMs): timeoutMs must be from 0 to 30000");
  }
  return (new SyncPointWaitWorker(env, name, static_cast<int>(ms)))->Start();
}

Napi::Value syncPointRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = pointName(info);
  if (name.empty()) return throwMisuse(env, "syncPointRelease(name): name must be a non-empty string");
  syncpoint::release(name);
  return env.Undefined();
}

Napi::Value syncPointReset(const Napi::CallbackInfo& info) {
  syncpoint::reset();
  return info.Env().Undefined();
}

void cleanup() {
  syncpoint::reset();
  fault::setPlan(fault::Plan());
}

}  // namespace

void registerTestHooks(Napi::Env env, Napi::Object exports) {
  exports.Set("setFaultPlan", Napi::Function::New(env, setFaultPlan, "setFaultPlan"));
  exports.Set("faultOperations", Napi::Function::New(env, faultOperations, "faultOperations"));
  exports.Set("syncPointArm", Napi::Function::New(env, syncPointArm, "syncPointArm"));
  exports.Set("syncPointWait", Napi::Function::New(env, syncPointWait, "syncPointWait"));
  exports.Set("syncPointRelease", Napi::Function::New(env, syncPointRelease, "syncPointRelease"));
  exports.Set("syncPointReset", Napi::Function::New(env, syncPointReset, "syncPointReset"));
  env.AddCleanupHook(cleanup);
}

}  // namespace litevault

#endif  // LITEVAULT_TESTING
