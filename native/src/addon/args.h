// Argument readers the wraps share: each says whether a JavaScript value is what a call needs
// and gives it as plain C++, so the wraps only word their SQLITE_MISUSE messages; and the result
// values more than one wrap returns.
//
// Thread safety: main (JavaScript) thread only.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "format/wal_format.h"

namespace litevault {

// A cumulative WAL checksum as [s0, s1], or null when it is not known.
inline Napi::Value walChecksumValue(Napi::Env env, bool known, const WalChecksum& sum) {
  if (!known) return env.Null();
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(uint32_t(0), sum.s0);
  a.Set(uint32_t(1), sum.s1);
  return a;
}

// The bytes of a Buffer / Uint8Array argument, or false.
inline bool bytesOf(const Napi::Value& v, uint8_t** data, size_t* n) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray array = v.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array bytes = v.As<Napi::Uint8Array>();
  *data = bytes.Data();
  *n = bytes.ByteLength();
  return true;
}
inline bool bytesOf(const Napi::Value& v, const uint8_t** data, size_t* n) {
  uint8_t* bytes = nullptr;
  if (!bytesOf(v, &bytes, n)) return false;
  *data = bytes;
  return true;
}

// An integer in [min, max], or false.
inline bool integerOf(const Napi::Value& v, double min, double max, double* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || std::floor(d) != d) return false;
  *out = d;
  return true;
}

}  // namespace litevault
