// Status -> LitevaultError, and the addon's per-environment data.
//
// lib/errors.ts defines LitevaultError and hands its constructor to the addon at load time
// (binding.setErrorClass), so every rejection the addon makes is already the typed error with
// `code` (SQLite's name for the Status code) and `errno`. Codes are mapped from Status values,
// never from message text.
//
// Thread safety: main (JavaScript) thread only, like everything that touches Napi values.
#pragma once

#include <napi.h>

#include "addon/env_handles.h"
#include "base/status.h"

namespace litevault {

struct AddonData {
  Napi::FunctionReference errorClass;     // LitevaultError, set by setErrorClass()
  Napi::FunctionReference databaseClass;  // DatabaseWrap's constructor
  Napi::FunctionReference vaultLockClass; // VaultLockWrap's constructor (binding.lockFile makes them)
  EnvHandles handles;                     // released by the environment cleanup hook (addon.cc)
};

// A LitevaultError (or a plain Error with the same fields before setErrorClass ran).
Napi::Value makeError(Napi::Env env, const Status& status);

// For argument checks on the main thread: throws SQLITE_MISUSE and returns undefined.
Napi::Value throwMisuse(Napi::Env env, const std::string& message);

// For argument checks of promise-returning calls: a promise already rejected with SQLITE_MISUSE
// (an async call never throws synchronously).
Napi::Value rejectMisuse(Napi::Env env, const std::string& message);

// binding.setErrorClass(ctor)
Napi::Value setErrorClass(const Napi::CallbackInfo& info);

}  // namespace litevault
