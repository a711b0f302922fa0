// The module entry: registers the addon's functions. Only this layer (native/src/addon/) includes
// Node headers; everything below is plain C++17.
#include <napi.h>

#include "addon/errors.h"
#include "addon/inspect_worker.h"

namespace {

using namespace litevault;

Napi::Object InitLitevault(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New(env, setErrorClass, "setErrorClass"));
  exports.Set("inspect", Napi::Function::New(env, inspect, "inspect"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(litevault, InitLitevault)
