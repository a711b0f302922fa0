// binding.Backup: the JavaScript handle on a Backup (backup/backup.h).
//
//   new binding.Backup(destination, source, mode?, verify?)   synchronous: checks only, no I/O, no waiting
//   backup.step(pages) -> Promise<{done, remaining, pageCount, restarts}>   (threadpool)
//   backup.finish() -> Promise<void>                                       (threadpool)
//   backup.holdSource()   synchronous, no I/O: keep the source read lock from the next step on
//   backup.remaining, backup.pageCount, backup.restarts, backup.finished   (as of the last step)
//
// Concurrent step() calls queue on the Backup's mutex in the threadpool; they never interleave.
// A handle garbage-collected without finish() is finished by its destructor, which rolls the
// destination back (that last-resort I/O runs on whichever thread collects it).
//
// Thread safety: JavaScript (main) thread only; workers hold a shared_ptr to the Backup.
#pragma once

#include <napi.h>

#include <memory>

#include "backup/backup.h"

namespace litevault {

class BackupWrap : public Napi::ObjectWrap<BackupWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BackupWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value HoldSource(const Napi::CallbackInfo& info);
  Napi::Value Remaining(const Napi::CallbackInfo& info);
  Napi::Value PageCount(const Napi::CallbackInfo& info);
  Napi::Value Restarts(const Napi::CallbackInfo& info);
  Napi::Value Finished(const Napi::CallbackInfo& info);

  std::shared_ptr<Backup> backup_;
  bool background_ = false;  // its jobs run at background priority (PromiseWorker::Background)
};

}  // namespace litevault
