// binding.ImageReader: the JavaScript handle on an ImageReader (backup/image_reader.h), for
// backupStream() (lib/stream.ts).
//
//   new binding.ImageReader(database)   synchronous: no I/O
//   reader.begin(busyTimeoutMs) -> Promise<{pageSize, pageCount, bytes, wal, walFrame}>   (threadpool)
//   reader.read(offset, buffer) -> Promise<void>   fills buffer with the image's bytes from offset
//                                                  (whole pages; several may run at once)
//   reader.sendTo(fd, offset, length) -> Promise<void>   those bytes written to descriptor fd
//                                                  (the CLI's stdout; one call at a time)
//   reader.end() -> Promise<void>                  every lock released; idempotent
//
// The environment cleanup hook ends a reader its environment left open (env_handles.h).
//
// Thread safety: JavaScript (main) thread only; workers hold a shared_ptr to the reader and a
// reference to the buffer they fill.
#pragma once

#include <napi.h>

#include <memory>

#include "backup/image_reader.h"

namespace litevault {

class ImageReaderWrap : public Napi::ObjectWrap<ImageReaderWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ImageReaderWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Begin(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value SendTo(const Napi::CallbackInfo& info);
  Napi::Value End(const Napi::CallbackInfo& info);

  std::shared_ptr<ImageReader> reader_;
};

}  // namespace litevault
