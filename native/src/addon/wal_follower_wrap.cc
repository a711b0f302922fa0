// binding.WalFollower; see wal_follower_wrap.h.
#include "addon/wal_follower_wrap.h"

#include "addon/args.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"

#include <pthread.h>

#include <thread>

namespace litevault {

Status FollowerHandle::join(bool* wal) {
  *wal = follower_ != nullptr;
  if (*wal) return Status::ok();
  LV_RETURN_IF_ERROR(pager_->joinWal(wal));
  if (*wal) follower_.reset(new WalFollower(pager_->wal(), &pager_->file(), pager_->pageSize()));
  return Status::ok();
}

Status FollowerHandle::poll(const FollowRequest& request, bool truncate, FollowResult* out, bool* wal, bool* locked, bool* finished,
                            TruncateResult* truncateOut) {
  std::lock_guard<std::mutex> guard(mutex_);
  *locked = *finished = false;
  if (!pager_) return Status::error(Code::kMisuse, "the WalFollower is closed");
  if (follower_ && follower_->truncateLocked()) {
    return Status::error(Code::kMisuse, "a WalFollower holding the truncate locks must finishTruncate() first");
  }
  expired_ = false;
  LV_RETURN_IF_ERROR(join(wal));
  if (!*wal) return Status::ok();
  if (!truncate) return follower_->poll(request, out).about(pager_->path());
  Status status = follower_->lockForTruncate(request, pager_->busyTimeout(), out, locked, finished, truncateOut);
  if (*locked && !watch(++hold_)) {
    follower_->releaseTruncate();  // no watchdog, no hold: the caller ships and polls again
    *locked = false;
  }
  return status.about(pager_->path());
}

namespace {

struct WatchdogStart {
  std::shared_ptr<FollowerHandle> handle;
  uint64_t hold;
  std::chrono::steady_clock::time_point deadline;
  void (FollowerHandle::*run)(uint64_t, std::chrono::steady_clock::time_point);
};

void* watchdogMain(void* arg) {
  std::unique_ptr<WatchdogStart> start(static_cast<WatchdogStart*>(arg));
  ((*start->handle).*(start->run))(start->hold, start->deadline);
  return nullptr;
}

}  // namespace

// A pthread rather than std::thread: the addon is built without exceptions, and pthread_create
// says it failed instead of throwing.
bool FollowerHandle::watch(uint64_t hold) {
  auto* start = new WatchdogStart{shared_from_this(), hold, std::chrono::steady_clock::now() + std::chrono::milliseconds(holdTimeoutMs_),
                                  &FollowerHandle::expire};
  pthread_t thread;
  if (pthread_create(&thread, nullptr, watchdogMain, start) != 0) {
    delete start;
    return false;
  }
  pthread_detach(thread);
  return true;
}

// It sleeps out the whole hold rather than waiting on a condition variable: a timed wait on
// steady_clock imports pthread_cond_clockwait (glibc 2.30), past the prebuild's 2.28 baseline
// (base/glibc_compat.cc). A hold that ended early only keeps the handle alive until then.
void FollowerHandle::expire(uint64_t hold, std::chrono::steady_clock::time_point deadline) {
  std::this_thread::sleep_until(deadline);
  std::lock_guard<std::mutex> lock(mutex_);
  if (follower_ && follower_->truncateLocked() && hold_ == hold) {
    follower_->releaseTruncate();
    expired_ = true;
  }
}

Status FollowerHandle::finishTruncate(bool apply, TruncateResult* out) {
  std::lock_guard<std::mutex> guard(mutex_);
  *out = TruncateResult();
  if (!pager_) return Status::error(Code::kMisuse, "the WalFollower is closed");
  if (!follower_) return apply ? Status::error(Code::kMisuse, "finishTruncate(true) without lockForTruncate()") : Status::ok();
  if (expired_) {  // the watchdog released the locks: nothing to apply; the salts of the hold's poll
    expired_ = false;
    Status status = follower_->finishTruncate(false, pager_->busyTimeout(), out);
    out->busy = apply;
    return status.about(pager_->path());
  }
  return follower_->finishTruncate(apply, pager_->busyTimeout(), out).about(pager_->path());
}

void FollowerHandle::close() {
  std::lock_guard<std::mutex> guard(mutex_);
  follower_.reset();  // releases CKPT and WRITE if still held
  pager_.reset();     // leaves the WAL, releases SHARED
}

namespace {

const char* statusName(FollowStatus s) {
  switch (s) {
    case FollowStatus::kSame: return "same";
    case FollowStatus::kRestarted: return "restarted";
    case FollowStatus::kGap: return "gap";
    case FollowStatus::kOversize: return "oversize";
  }
  return "gap";
}

Napi::Value positionValue(Napi::Env env, const FollowResult& r) {
  if (!r.hasPosition) return env.Null();
  Napi::Object p = Napi::Object::New(env);
  p.Set("salt1", r.position.salt1);
  p.Set("salt2", r.position.salt2);
  p.Set("frame", r.position.frame);
  p.Set("checksum", walChecksumValue(env, r.position.checksumKnown, r.position.checksum));
  return p;
}

Napi::Value truncateValue(Napi::Env env, const TruncateResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("truncated", r.truncated);
  o.Set("busy", r.busy);
  o.Set("salt1", r.salt1);
  o.Set("salt2", r.salt2);
  o.Set("frame", r.frame);
  o.Set("checksum", walChecksumValue(env, r.frame > 0, r.checksum));
  return o;
}

class PollWorker : public PromiseWorker {
 public:
  PollWorker(Napi::Env env, std::shared_ptr<FollowerHandle> handle, const FollowRequest& request, bool truncate)
      : PromiseWorker(env, truncate ? "litevault:walFollower.lockForTruncate" : "litevault:walFollower.poll"),
        handle_(std::move(handle)), request_(request), truncate_(truncate) {}

 protected:
  Status Run() override { return handle_->poll(request_, truncate_, &result_, &wal_, &locked_, &finished_, &truncate_result_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("wal", wal_);
    o.Set("status", statusName(result_.status));
    o.Set("pageSize", result_.pageSize);
    o.Set("salt1", result_.salt1);
    o.Set("salt2", result_.salt2);
    o.Set("position", positionValue(env, result_));
    o.Set("transactions", result_.transactions);
    o.Set("records", result_.transactions == 0 ? env.Null()
                                               : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, result_.records.data(), result_.records.size())));
    o.Set("firstFrame", result_.firstFrame);
    o.Set("lastFrame", result_.lastFrame);
    o.Set("mxFrame", result_.mxFrame);
    o.Set("nBackfill", result_.nBackfill);
    if (truncate_) {
      o.Set("locked", locked_);
      o.Set("truncate", finished_ ? truncateValue(env, truncate_result_) : env.Null());
    }
    return o;
  }

 private:
  std::shared_ptr<FollowerHandle> handle_;
  const FollowRequest request_;
  const bool truncate_;
  FollowResult result_;
  TruncateResult truncate_result_;
  bool wal_ = false, locked_ = false, finished_ = false;
};

class FinishWorker : public PromiseWorker {
 public:
  FinishWorker(Napi::Env env, std::shared_ptr<FollowerHandle> handle, bool apply)
      : PromiseWorker(env, "litevault:walFollower.finishTruncate"), handle_(std::move(handle)), apply_(apply) {}

 protected:
  Status Run() override { return handle_->finishTruncate(apply_, &result_); }
  Napi::Value Result(Napi::Env env) override { return truncateValue(env, result_); }

 private:
  std::shared_ptr<FollowerHandle> handle_;
  const bool apply_;
  TruncateResult result_;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<FollowerHandle> handle)
      : PromiseWorker(env, "litevault:walFollower.close"), handle_(std::move(handle)) {}

 protected:
  Status Run() override {
    handle_->close();
    return Status::ok();
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<FollowerHandle> handle_;
};

constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1

// FollowPosition | null (null only when `nullable`).
bool positionOf(const Napi::Value& v, bool nullable, FollowRequest* request) {
  request->hasPosition = false;
  if (v.IsNull()) return nullable;
  if (!v.IsObject()) return false;
  Napi::Object o = v.As<Napi::Object>();
  double salt1 = 0, salt2 = 0, frame = 0;
  if (!integerOf(o.Get("salt1"), 0, 4294967295.0, &salt1) || !integerOf(o.Get("salt2"), 0, 4294967295.0, &salt2) ||
      !integerOf(o.Get("frame"), 0, 4294967295.0, &frame)) {
    return false;
  }
  FollowPosition& p = request->position;
  p.salt1 = static_cast<uint32_t>(salt1);
  p.salt2 = static_cast<uint32_t>(salt2);
  p.frame = static_cast<uint32_t>(frame);
  Napi::Value sum = o.Get("checksum");
  p.checksumKnown = !sum.IsNull();
  if (p.checksumKnown) {
    if (!sum.IsArray() || sum.As<Napi::Array>().Length() != 2) return false;
    double s0 = 0, s1 = 0;
    if (!integerOf(sum.As<Napi::Array>().Get(uint32_t(0)), 0, 4294967295.0, &s0) ||
        !integerOf(sum.As<Napi::Array>().Get(uint32_t(1)), 0, 4294967295.0, &s1)) {
      return false;
    }
    p.checksum = WalChecksum{static_cast<uint32_t>(s0), static_cast<uint32_t>(s1)};
  }
  request->hasPosition = true;
  return true;
}

}  // namespace

Napi::Function WalFollowerWrap::Define(Napi::Env env) {
  return DefineClass(env, "WalFollower",
                     {InstanceMethod<&WalFollowerWrap::Poll>("poll"), InstanceMethod<&WalFollowerWrap::LockForTruncate>("lockForTruncate"),
                      InstanceMethod<&WalFollowerWrap::FinishTruncate>("finishTruncate"), InstanceMethod<&WalFollowerWrap::Close>("close")});
}

WalFollowerWrap::WalFollowerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WalFollowerWrap>(info) {
  Napi::Env env = info.Env();
  double timeout = 0, hold = 0;
  Napi::Value holdValue = info.Length() == 2 && info[1].IsObject() ? info[1].As<Napi::Object>().Get("holdTimeout") : env.Undefined();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsObject() ||
      !integerOf(info[1].As<Napi::Object>().Get("busyTimeout"), 0, 2147483647, &timeout) ||
      !(holdValue.IsUndefined() || integerOf(holdValue, 0, 2147483647, &hold))) {
    throwMisuse(env, "new WalFollower(path, { busyTimeout, holdTimeout? }): bad arguments (integers 0..2147483647 ms)");
    return;
  }
  if (holdValue.IsUndefined()) hold = timeout;
  PagerOptions options;
  options.readOnly = true;
  options.busyTimeoutMs = static_cast<int>(timeout);
  std::unique_ptr<Pager> pager;
  Status opened = Pager::open(info[0].As<Napi::String>().Utf8Value(), options, &pager);
  if (!opened.isOk()) {
    Napi::Error(env, makeError(env, opened)).ThrowAsJavaScriptException();
    return;
  }
  handle_ = std::make_shared<FollowerHandle>(std::move(pager), static_cast<int>(hold));
  env.GetInstanceData<AddonData>()->handles.add(handle_);
}

Napi::Value WalFollowerWrap::StartPoll(const Napi::CallbackInfo& info, bool truncate) {
  Napi::Env env = info.Env();
  FollowRequest request;
  double firstTxid = 0, recordedAt = 0, maxBytes = 0;
  const size_t arity = truncate ? 5 : 4;  // lockForTruncate(..., hold)
  if (info.Length() != arity || !positionOf(info[0], !truncate, &request) || !integerOf(info[1], 1, kMaxSafe, &firstTxid) ||
      !integerOf(info[2], -kMaxSafe, kMaxSafe, &recordedAt) || !integerOf(info[3], 0, kMaxSafe, &maxBytes) ||
      (truncate && !info[4].IsBoolean())) {
    return rejectMisuse(env, truncate ? "lockForTruncate(position, firstTxid, recordedAt, maxBytes, hold): bad arguments"
                                      : "poll(position, firstTxid, recordedAt, maxBytes): bad arguments");
  }
  if (truncate) request.hold = info[4].As<Napi::Boolean>().Value();
  request.firstTxid = static_cast<uint64_t>(firstTxid);
  request.recordedAt = static_cast<int64_t>(recordedAt);
  request.maxBytes = static_cast<uint64_t>(maxBytes);
  auto* worker = new PollWorker(env, handle_, request, truncate);
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

Napi::Value WalFollowerWrap::Poll(const Napi::CallbackInfo& info) { return StartPoll(info, false); }
Napi::Value WalFollowerWrap::LockForTruncate(const Napi::CallbackInfo& info) { return StartPoll(info, true); }

Napi::Value WalFollowerWrap::FinishTruncate(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsBoolean()) return rejectMisuse(info.Env(), "finishTruncate(apply): apply must be a boolean");
  auto* worker = new FinishWorker(info.Env(), handle_, info[0].As<Napi::Boolean>().Value());
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

Napi::Value WalFollowerWrap::Close(const Napi::CallbackInfo& info) {
  auto* worker = new CloseWorker(info.Env(), handle_);
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

}  // namespace litevault
