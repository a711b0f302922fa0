// Building LitevaultError values from Status; see errors.h.
#include "addon/errors.h"

namespace litevault {

Napi::Value makeError(Napi::Env env, const Status& status) {
  Napi::Object fields = Napi::Object::New(env);
  fields.Set("message", status.message());
  fields.Set("code", codeName(status.code()));
  if (status.errnum() != 0) fields.Set("errno", status.errnum());
  fields.Set("retryable", isRetryable(status.code()));
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    return data->errorClass.New({fields});
  }
  Napi::Object error = Napi::Error::New(env, status.message()).Value();
  error.Set("code", codeName(status.code()));
  if (status.errnum() != 0) error.Set("errno", status.errnum());
  return error;
}

Napi::Value throwMisuse(Napi::Env env, const std::string& message) {
  Napi::Value error = makeError(env, Status::error(Code::kMisuse, message));
  Napi::Error(env, error).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value rejectMisuse(Napi::Env env, const std::string& message) {
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(makeError(env, Status::error(Code::kMisuse, message)));
  return deferred.Promise();
}

Napi::Value setErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsFunction()) {
    return throwMisuse(env, "setErrorClass(ctor): ctor must be a function");
  }
  env.GetInstanceData<AddonData>()->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

}  // namespace litevault
