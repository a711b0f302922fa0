// PromiseWorker: the one base for every asynchronous call the addon exposes.
//
// The main thread validates arguments, constructs the worker (which copies everything it needs
// out of JavaScript values) and returns its promise. Run() executes on the libuv threadpool and
// makes no N-API call; it returns a Status. Back on the main thread the promise is resolved with
// Result() or rejected with a LitevaultError built from the Status.
//
// Priority: a worker started with Background(true) (the wraps do so unless the caller asked for
// priority 'normal') runs Run() at background CPU and I/O priority, and its threadpool thread
// gets back what it had before (os/thread_priority.h).
//
// Thread safety: the constructor, Background(), Result() and the settle step run on the main
// thread; Run() on one threadpool thread. A subclass keeps Run()'s outputs in members read by
// Result().
#pragma once

#include <napi.h>

#include "addon/errors.h"
#include "base/status.h"
#include "os/thread_priority.h"

namespace litevault {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Keeps a JavaScript handle (a Database or Backup) from being garbage-collected while this
  // worker runs on its native object.
  void KeepAlive(Napi::Object handle) { keepAlive_ = Napi::Persistent(handle); }

  // Runs Run() at background priority; before Start().
  void Background(bool on) { background_ = on; }

  // KeepAlive(handle), Background(background) and Start(): a job of a native object whose caller
  // chose its priority when creating it.
  Napi::Value StartFor(Napi::Object handle, bool background) {
    KeepAlive(handle);
    Background(background);
    return Start();
  }

  // Queues the worker and returns its promise.
  Napi::Value Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  virtual Status Run() = 0;                           // threadpool
  virtual Napi::Value Result(Napi::Env env) = 0;      // main thread, only after Run() succeeded

 private:
  void Execute() override {
    BackgroundPriority priority(background_);
    status_ = Run();
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status_.isOk()) {
      deferred_.Resolve(Result(env));
    } else {
      deferred_.Reject(makeError(env, status_));
    }
  }

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keepAlive_;
  bool background_ = false;
  Status status_;
};

}  // namespace litevault
