// binding.Database: the JavaScript handle on a Connection (pager/connection.h).
//
//   binding.open(path, readOnly, create, busyTimeoutMs) -> Promise<Database>   (threadpool)
//   database.close() -> Promise<void>                                          (threadpool)
//   database.path, database.readOnly, database.fileId ("<dev>:<ino>", to tell files apart)
//
// The wrap holds a shared_ptr to the Connection; so does every Backup using it, so the Pager is
// destroyed (releasing its locks) only after the last of them goes, on whichever thread that is.
//
// Thread safety: JavaScript (main) thread only; workers copy the shared_ptr.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "pager/connection.h"

namespace litevault {

class DatabaseWrap : public Napi::ObjectWrap<DatabaseWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit DatabaseWrap(const Napi::CallbackInfo& info);

  const std::shared_ptr<Connection>& connection() const { return connection_; }
  static DatabaseWrap* Unwrap(Napi::Value value);  // null if value is not a Database

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Path(const Napi::CallbackInfo& info);
  Napi::Value ReadOnly(const Napi::CallbackInfo& info);
  Napi::Value FileId(const Napi::CallbackInfo& info);

  std::shared_ptr<Connection> connection_;
  // Immutable facts of the connection, cached at construction for the getters (main thread).
  std::string path_;
  bool readOnly_ = false;
  std::string fileId_;
};

// binding.open(path, readOnly, create, busyTimeoutMs, createPrivate?)
Napi::Value openDatabase(const Napi::CallbackInfo& info);

// binding.publish(from, to): moves a finished private file (createPrivate) into place
// (os/file.h publishPrivateFile). The caller has closed its handle on `from`.
Napi::Value publishFile(const Napi::CallbackInfo& info);

}  // namespace litevault
