// binding.Database and binding.open; see database_wrap.h.
#include "addon/database_wrap.h"

#include <string>

#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "os/publish.h"

namespace litevault {
namespace {

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, std::string path, PagerOptions options)
      : PromiseWorker(env, "litevault:open"), path_(std::move(path)), options_(options) {}

 protected:
  Status Run() override {
    std::unique_ptr<Pager> pager;
    LV_RETURN_IF_ERROR(Pager::open(path_, options_, &pager));
    connection_ = std::make_shared<Connection>(std::move(pager));
    return Status::ok();
  }
  Napi::Value Result(Napi::Env env) override {
    auto* holder = new std::shared_ptr<Connection>(std::move(connection_));
    Napi::External<std::shared_ptr<Connection>> external = Napi::External<std::shared_ptr<Connection>>::New(
        env, holder, [](Napi::Env, std::shared_ptr<Connection>* p) { delete p; });
    return env.GetInstanceData<AddonData>()->databaseClass.New({external});
  }

 private:
  const std::string path_;
  const PagerOptions options_;
  std::shared_ptr<Connection> connection_;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<Connection> connection)
      : PromiseWorker(env, "litevault:close"), connection_(std::move(connection)) {}

 protected:
  Status Run() override {
    std::lock_guard<std::mutex> guard(connection_->mutex);
    if (!connection_->pager) return Status::ok();
    if (connection_->backups.load() > 0) {
      connection_->closed = false;
      return Status::error(Code::kBusy, "cannot close '" + connection_->pager->path() + "': a backup using it is not finished");
    }
    connection_->pager.reset();  // ends any transaction and releases the locks; the fd stays registered
    return Status::ok();
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<Connection> connection_;
};

class PublishWorker : public PromiseWorker {
 public:
  PublishWorker(Napi::Env env, std::string from, std::string to)
      : PromiseWorker(env, "litevault:publish"), from_(std::move(from)), to_(std::move(to)) {}

 protected:
  Status Run() override {
    std::string from, to;
    LV_RETURN_IF_ERROR(canonicalPath(from_, &from));
    LV_RETURN_IF_ERROR(canonicalPath(to_, &to));
    return publishPrivateFile(from, to);
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const std::string from_;
  const std::string to_;
};

}  // namespace

Napi::Value publishFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) {
    return rejectMisuse(env, "publish(from, to): bad arguments");
  }
  return (new PublishWorker(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value()))->Start();
}

Napi::Function DatabaseWrap::Define(Napi::Env env) {
  return DefineClass(env, "Database",
                     {
                         InstanceMethod<&DatabaseWrap::Close>("close"),
                         InstanceAccessor<&DatabaseWrap::Path>("path"),
                         InstanceAccessor<&DatabaseWrap::ReadOnly>("readOnly"),
                         InstanceAccessor<&DatabaseWrap::FileId>("fileId"),
                     });
}

DatabaseWrap::DatabaseWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DatabaseWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throwMisuse(info.Env(), "Database handles are made by open(), not by new");
    return;
  }
  connection_ = *info[0].As<Napi::External<std::shared_ptr<Connection>>>().Data();
  if (connection_) info.Env().GetInstanceData<AddonData>()->handles.add(connection_);
  // Nothing can close the connection before its wrap exists, so the pager is there to read.
  if (connection_ && connection_->pager) {
    const Pager& pager = *connection_->pager;
    path_ = pager.path();
    readOnly_ = pager.readOnly();
    fileId_ = std::to_string(pager.file().device()) + ":" + std::to_string(pager.file().inode());
  }
}

DatabaseWrap* DatabaseWrap::Unwrap(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  Napi::Env env = value.Env();
  Napi::Object object = value.As<Napi::Object>();
  if (!object.InstanceOf(env.GetInstanceData<AddonData>()->databaseClass.Value())) return nullptr;
  return Napi::ObjectWrap<DatabaseWrap>::Unwrap(object);
}

Napi::Value DatabaseWrap::Close(const Napi::CallbackInfo& info) {
  connection_->closed = true;  // no new backup may start on it from now on
  auto* worker = new CloseWorker(info.Env(), connection_);
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

// The getters never touch connection_->pager: a CloseWorker may be resetting it on the
// threadpool right now. They answer from what the constructor cached ('' / null once close()
// has been called).
Napi::Value DatabaseWrap::Path(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), connection_->closed.load() ? std::string() : path_);
}

Napi::Value DatabaseWrap::ReadOnly(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !connection_->closed.load() && readOnly_);
}

Napi::Value DatabaseWrap::FileId(const Napi::CallbackInfo& info) {
  if (connection_->closed.load()) return info.Env().Null();
  return Napi::String::New(info.Env(), fileId_);
}

Napi::Value openDatabase(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsBoolean() || !info[2].IsBoolean() || !info[3].IsNumber() ||
      (info.Length() > 4 && !info[4].IsBoolean())) {
    return rejectMisuse(env, "open(path, readOnly, create, busyTimeoutMs, createPrivate): bad arguments");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) return rejectMisuse(env, "open(path): bad path");
  PagerOptions options;
  options.readOnly = info[1].As<Napi::Boolean>().Value();
  options.create = info[2].As<Napi::Boolean>().Value();
  double timeout = info[3].As<Napi::Number>().DoubleValue();
  if (!(timeout >= 0 && timeout <= 2147483647)) return rejectMisuse(env, "open(): busyTimeout must be 0..2147483647 ms");
  options.busyTimeoutMs = static_cast<int>(timeout);
  options.createPrivate = info.Length() > 4 && info[4].As<Napi::Boolean>().Value();
  if (options.createPrivate && (options.readOnly || options.create)) {
    return rejectMisuse(env, "open(): createPrivate excludes readOnly and create");
  }
  if (options.readOnly && options.create) return rejectMisuse(env, "open(): readOnly and create exclude each other");
  return (new OpenWorker(env, std::move(path), options))->Start();
}

}  // namespace litevault
