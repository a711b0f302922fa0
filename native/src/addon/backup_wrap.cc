// binding.Backup; see backup_wrap.h.
#include "addon/backup_wrap.h"

#include "addon/database_wrap.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"

namespace litevault {
namespace {

Napi::Object progressObject(Napi::Env env, const Backup::Progress& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("done", p.done);
  o.Set("remaining", p.remaining);
  o.Set("pageCount", p.pageCount);
  o.Set("restarts", p.restarts);
  o.Set("pageSize", p.pageSize);
  o.Set("mode", p.mode == Backup::Mode::kSnapshot ? "snapshot" : p.mode == Backup::Mode::kRestart ? "restart" : "auto");
  o.Set("snapshotFrame", p.snapshotFrame);
  o.Set("kernelPages", static_cast<double>(p.kernelPages));
  return o;
}

class StepWorker : public PromiseWorker {
 public:
  StepWorker(Napi::Env env, std::shared_ptr<Backup> backup, int pages)
      : PromiseWorker(env, "litevault:backup.step"), backup_(std::move(backup)), pages_(pages) {}

 protected:
  Status Run() override { return backup_->step(pages_, &progress_); }
  Napi::Value Result(Napi::Env env) override { return progressObject(env, progress_); }

 private:
  std::shared_ptr<Backup> backup_;
  const int pages_;
  Backup::Progress progress_;
};

class FinishWorker : public PromiseWorker {
 public:
  FinishWorker(Napi::Env env, std::shared_ptr<Backup> backup)
      : PromiseWorker(env, "litevault:backup.finish"), backup_(std::move(backup)) {}

 protected:
  Status Run() override { return backup_->finish(); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<Backup> backup_;
};

}  // namespace

Napi::Function BackupWrap::Define(Napi::Env env) {
  return DefineClass(env, "Backup",
                     {
                         InstanceMethod<&BackupWrap::Step>("step"),
                         InstanceMethod<&BackupWrap::Finish>("finish"),
                         InstanceMethod<&BackupWrap::HoldSource>("holdSource"),
                         InstanceAccessor<&BackupWrap::Remaining>("remaining"),
                         InstanceAccessor<&BackupWrap::PageCount>("pageCount"),
                         InstanceAccessor<&BackupWrap::Restarts>("restarts"),
                         InstanceAccessor<&BackupWrap::Finished>("finished"),
                     });
}

BackupWrap::BackupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BackupWrap>(info) {
  Napi::Env env = info.Env();
  DatabaseWrap* destination = info.Length() >= 2 ? DatabaseWrap::Unwrap(info[0]) : nullptr;
  DatabaseWrap* source = info.Length() >= 2 ? DatabaseWrap::Unwrap(info[1]) : nullptr;
  if (destination == nullptr || source == nullptr) {
    throwMisuse(env, "new Backup(source, destination): both must be open Database handles");
    return;
  }
  Backup::Mode mode = Backup::Mode::kAuto;
  if (info.Length() >= 3 && !info[2].IsUndefined()) {
    std::string name = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    if (name == "snapshot") {
      mode = Backup::Mode::kSnapshot;
    } else if (name == "restart") {
      mode = Backup::Mode::kRestart;
    } else if (name != "auto") {
      throwMisuse(env, "new Backup(): mode must be 'snapshot', 'restart' or 'auto'");
      return;
    }
  }
  const bool verify = info.Length() >= 4 && info[3].ToBoolean().Value();
  background_ = info.Length() >= 5 && info[4].ToBoolean().Value();
  std::unique_ptr<Backup> backup;
  Status status = Backup::create(destination->connection(), source->connection(), mode, verify, &backup);
  if (!status.isOk()) {
    Napi::Error(env, makeError(env, status)).ThrowAsJavaScriptException();
    return;
  }
  backup_ = std::move(backup);
  env.GetInstanceData<AddonData>()->handles.add(backup_);
}

Napi::Value BackupWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double pages = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (info.Length() > 0 && !info[0].IsNumber() && !info[0].IsUndefined()) {
    return rejectMisuse(env, "backup.step(pages): pages must be a number");
  }
  if (pages != pages) return rejectMisuse(env, "backup.step(pages): pages must be a number");
  int n = pages < 0 ? -1 : (pages > 2147483647 ? 2147483647 : static_cast<int>(pages));
  auto* worker = new StepWorker(env, backup_, n);
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value BackupWrap::Finish(const Napi::CallbackInfo& info) {
  auto* worker = new FinishWorker(info.Env(), backup_);
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

// No I/O: only the mode changes, so it runs on the main thread.
Napi::Value BackupWrap::HoldSource(const Napi::CallbackInfo& info) {
  backup_->holdSource();
  return info.Env().Undefined();
}

Napi::Value BackupWrap::Remaining(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), backup_->progress().remaining);
}
Napi::Value BackupWrap::PageCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), backup_->progress().pageCount);
}
Napi::Value BackupWrap::Restarts(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), backup_->progress().restarts);
}
Napi::Value BackupWrap::Finished(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), backup_->finished());
}

}  // namespace litevault
