// binding.Verify: the JavaScript handle on a DatabaseVerify (backup/verify_database.h).
//
//   new binding.Verify(database, maxFindings, cksumvfs)   cksumvfs: 'auto' | 'on' | 'off'; no I/O
//   verify.run() -> Promise<Report>     (threadpool; once)
//   verify.cancel()                      the run stops at its next 1 MiB chunk with SQLITE_INTERRUPT
//   verify.pagesRead, verify.pageCount   progress, readable while it runs
//
// Report: { ok, findingCount, findings: [{page, structure, message}], pageSize, pageCount, cksumvfs }
// (lib/verify.ts documents it).
//
// Thread safety: JavaScript (main) thread only; the worker holds a shared_ptr.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "backup/verify_database.h"
#include "verify/structure_check.h"

namespace litevault {

class VerifyWrap : public Napi::ObjectWrap<VerifyWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit VerifyWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value PagesRead(const Napi::CallbackInfo& info);
  Napi::Value PageCount(const Napi::CallbackInfo& info);

  std::shared_ptr<DatabaseVerify> verify_;
  bool started_ = false;
};

// Runs `run` on the threadpool and returns a promise of its Report as the plain object above
// (also used by vault verification), at background priority if asked; `handle` is kept alive
// meanwhile.
Napi::Value startReportWorker(Napi::Env env, const char* name, Napi::Object handle,
                              std::function<Status(StructureCheck::Report*)> run, bool background = false);
// Reads {maxFindings, cksumvfs} arguments; false (with a MISUSE thrown) when they are bad.
bool parseCheckOptions(Napi::Env env, const Napi::Value& maxFindings, const Napi::Value& cksumvfs,
                       StructureCheck::Options* out);

}  // namespace litevault
