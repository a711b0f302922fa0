// binding.Checkpoint: the JavaScript handle on a Checkpoint (checkpoint/checkpoint.h).
//
//   new binding.Checkpoint(database, mode, busyTimeoutMs)   mode 0..3 = PASSIVE..TRUNCATE; no I/O
//   checkpoint.step(frames) -> Promise<{done, busy, log, checkpointed}>   (threadpool)
//   checkpoint.finish() -> Promise<void>                                   (threadpool)
//
// Thread safety: JavaScript (main) thread only; workers hold a shared_ptr to the Checkpoint.
#pragma once

#include <napi.h>

#include <memory>

#include "checkpoint/checkpoint.h"

namespace litevault {

class CheckpointWrap : public Napi::ObjectWrap<CheckpointWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CheckpointWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);

  std::shared_ptr<Checkpoint> checkpoint_;
  bool background_ = false;  // its jobs run at background priority (PromiseWorker::Background)
};

}  // namespace litevault
