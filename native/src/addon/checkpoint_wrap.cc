// binding.Checkpoint; see checkpoint_wrap.h.
#include "addon/checkpoint_wrap.h"

#include "addon/database_wrap.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"

namespace litevault {
namespace {

class StepWorker : public PromiseWorker {
 public:
  StepWorker(Napi::Env env, std::shared_ptr<Checkpoint> checkpoint, int64_t frames)
      : PromiseWorker(env, "litevault:checkpoint.step"), checkpoint_(std::move(checkpoint)), frames_(frames) {}

 protected:
  Status Run() override { return checkpoint_->step(frames_, &result_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("done", result_.done);
    o.Set("busy", result_.busy ? 1 : 0);
    o.Set("log", static_cast<double>(result_.log));
    o.Set("checkpointed", static_cast<double>(result_.checkpointed));
    return o;
  }

 private:
  std::shared_ptr<Checkpoint> checkpoint_;
  const int64_t frames_;
  Checkpoint::Result result_;
};

class FinishWorker : public PromiseWorker {
 public:
  FinishWorker(Napi::Env env, std::shared_ptr<Checkpoint> checkpoint)
      : PromiseWorker(env, "litevault:checkpoint.finish"), checkpoint_(std::move(checkpoint)) {}

 protected:
  Status Run() override { return checkpoint_->finish(); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<Checkpoint> checkpoint_;
};

}  // namespace

Napi::Function CheckpointWrap::Define(Napi::Env env) {
  return DefineClass(env, "Checkpoint",
                     {InstanceMethod<&CheckpointWrap::Step>("step"), InstanceMethod<&CheckpointWrap::Finish>("finish")});
}

CheckpointWrap::CheckpointWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CheckpointWrap>(info) {
  Napi::Env env = info.Env();
  DatabaseWrap* database = info.Length() == 3 || info.Length() == 4 ? DatabaseWrap::Unwrap(info[0]) : nullptr;
  if (database == nullptr || !info[1].IsNumber() || !info[2].IsNumber()) {
    throwMisuse(env, "new Checkpoint(database, mode, busyTimeoutMs): bad arguments");
    return;
  }
  const int mode = info[1].As<Napi::Number>().Int32Value();
  const double timeout = info[2].As<Napi::Number>().DoubleValue();
  // Only PASSIVE runs in the background: FULL and stronger hold the writer lock during a step, so
  // a lowered thread there would make SQLite's writers wait on it.
  background_ = info.Length() == 4 && info[3].ToBoolean().Value() && static_cast<Wal::CheckpointMode>(mode) == Wal::CheckpointMode::kPassive;
  if (mode < 0 || mode > 3 || !(timeout >= 0 && timeout <= 2147483647)) {
    throwMisuse(env, "new Checkpoint(): mode must be 0..3 and busyTimeout 0..2147483647 ms");
    return;
  }
  if (database->connection()->closed.load()) {
    throwMisuse(env, "new Checkpoint(): the database handle is closed");
    return;
  }
  checkpoint_ = std::make_shared<Checkpoint>(database->connection(), static_cast<Wal::CheckpointMode>(mode), static_cast<int>(timeout));
  env.GetInstanceData<AddonData>()->handles.add(checkpoint_);
}

Napi::Value CheckpointWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double frames = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (frames != frames) return rejectMisuse(env, "checkpoint.step(frames): frames must be a number");
  auto* worker = new StepWorker(env, checkpoint_, frames < 0 ? -1 : static_cast<int64_t>(frames));
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value CheckpointWrap::Finish(const Napi::CallbackInfo& info) {
  auto* worker = new FinishWorker(info.Env(), checkpoint_);
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

}  // namespace litevault
