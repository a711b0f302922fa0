// binding.inspect(path) -> Promise<object>: pager/inspect.h on the threadpool.
#pragma once

#include <napi.h>

namespace litevault {
Napi::Value inspect(const Napi::CallbackInfo& info);
}
