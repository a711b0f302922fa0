// binding.ImageReader; see image_reader_wrap.h.
#include "addon/image_reader_wrap.h"

#include "addon/args.h"
#include "addon/database_wrap.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"

namespace litevault {
namespace {

class BeginWorker : public PromiseWorker {
 public:
  BeginWorker(Napi::Env env, std::shared_ptr<ImageReader> reader, int busyTimeoutMs)
      : PromiseWorker(env, "litevault:imageReader.begin"), reader_(std::move(reader)), busyTimeoutMs_(busyTimeoutMs) {}

 protected:
  Status Run() override { return reader_->begin(busyTimeoutMs_, &snapshot_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("pageSize", snapshot_.pageSize);
    o.Set("pageCount", snapshot_.pageCount);
    o.Set("bytes", static_cast<double>(snapshot_.bytes));
    o.Set("wal", snapshot_.wal);
    o.Set("walFrame", snapshot_.walFrame);
    return o;
  }

 private:
  std::shared_ptr<ImageReader> reader_;
  const int busyTimeoutMs_;
  ImageReader::Snapshot snapshot_;
};

class ReadWorker : public PromiseWorker {
 public:
  ReadWorker(Napi::Env env, std::shared_ptr<ImageReader> reader, uint64_t offset, Napi::Object buffer, uint8_t* data, size_t n)
      : PromiseWorker(env, "litevault:imageReader.read"),
        reader_(std::move(reader)),
        offset_(offset),
        buffer_(Napi::Persistent(buffer)),
        data_(data),
        n_(n) {}

 protected:
  Status Run() override { return reader_->read(offset_, n_, data_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<ImageReader> reader_;
  const uint64_t offset_;
  Napi::ObjectReference buffer_;  // keeps the bytes alive while Run() fills them
  uint8_t* const data_;
  const size_t n_;
};

class SendWorker : public PromiseWorker {
 public:
  SendWorker(Napi::Env env, std::shared_ptr<ImageReader> reader, int fd, uint64_t offset, size_t n)
      : PromiseWorker(env, "litevault:imageReader.sendTo"), reader_(std::move(reader)), fd_(fd), offset_(offset), n_(n) {}

 protected:
  Status Run() override { return reader_->sendTo(fd_, offset_, n_, fd_ == 1 ? "standard output" : "descriptor " + std::to_string(fd_)); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<ImageReader> reader_;
  const int fd_;
  const uint64_t offset_;
  const size_t n_;
};

class EndWorker : public PromiseWorker {
 public:
  EndWorker(Napi::Env env, std::shared_ptr<ImageReader> reader)
      : PromiseWorker(env, "litevault:imageReader.end"), reader_(std::move(reader)) {}

 protected:
  Status Run() override {
    reader_->end();  // waits for reads in flight
    return Status::ok();
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<ImageReader> reader_;
};

}  // namespace

Napi::Function ImageReaderWrap::Define(Napi::Env env) {
  return DefineClass(env, "ImageReader",
                     {
                         InstanceMethod<&ImageReaderWrap::Begin>("begin"),
                         InstanceMethod<&ImageReaderWrap::Read>("read"),
                         InstanceMethod<&ImageReaderWrap::SendTo>("sendTo"),
                         InstanceMethod<&ImageReaderWrap::End>("end"),
                     });
}

ImageReaderWrap::ImageReaderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ImageReaderWrap>(info) {
  Napi::Env env = info.Env();
  DatabaseWrap* source = info.Length() >= 1 ? DatabaseWrap::Unwrap(info[0]) : nullptr;
  if (source == nullptr) {
    throwMisuse(env, "new ImageReader(database): database must be an open Database handle");
    return;
  }
  std::unique_ptr<ImageReader> reader;
  Status status = ImageReader::create(source->connection(), &reader);
  if (!status.isOk()) {
    Napi::Error(env, makeError(env, status)).ThrowAsJavaScriptException();
    return;
  }
  reader_ = std::move(reader);
  env.GetInstanceData<AddonData>()->handles.add(reader_);
}

Napi::Value ImageReaderWrap::Begin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double timeout = 0;
  if (info.Length() < 1 || !integerOf(info[0], 0, 2147483647, &timeout)) {
    return rejectMisuse(env, "imageReader.begin(busyTimeoutMs): a non-negative integer");
  }
  auto* worker = new BeginWorker(env, reader_, static_cast<int>(timeout));
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

Napi::Value ImageReaderWrap::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double offset = 0;
  uint8_t* data = nullptr;
  size_t n = 0;
  if (info.Length() < 2 || !integerOf(info[0], 0, 9007199254740991.0, &offset) || !bytesOf(info[1], &data, &n)) {
    return rejectMisuse(env, "imageReader.read(offset, buffer): offset a non-negative integer, buffer a Buffer");
  }
  auto* worker = new ReadWorker(env, reader_, static_cast<uint64_t>(offset), info[1].As<Napi::Object>(), data, n);
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

Napi::Value ImageReaderWrap::SendTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double fd = 0, offset = 0, n = 0;
  if (info.Length() < 3 || !integerOf(info[0], 0, 2147483647, &fd) || !integerOf(info[1], 0, 9007199254740991.0, &offset) ||
      !integerOf(info[2], 0, 9007199254740991.0, &n)) {
    return rejectMisuse(env, "imageReader.sendTo(fd, offset, length): non-negative integers");
  }
  auto* worker = new SendWorker(env, reader_, static_cast<int>(fd), static_cast<uint64_t>(offset), static_cast<size_t>(n));
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

Napi::Value ImageReaderWrap::End(const Napi::CallbackInfo& info) {
  auto* worker = new EndWorker(info.Env(), reader_);
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

}  // namespace litevault
