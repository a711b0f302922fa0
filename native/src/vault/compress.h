// Compression of a pack's payload (docs/vault-format.md "Pack"): one zstd frame per pack, with
// its content size, or the raw page images.
//
// Compressor: one zstd compression context per scan, reused for every pack (no allocation per
// pack; pack_encoder.h runs one per compression thread). Parameters: the level (-1 by default
// from TypeScript), a window of the whole pack (windowLog 23 = 8 MiB; a pack never
// holds more) and long-distance matching. A database's repeated content is often farther apart
// than the fast levels look: on the bench database (bench/children/make-db.js, 256 MiB, blobs
// cut from a 4 MiB random pool), `zstd -1` of the whole file stores 209.4 MB, 8 MiB packs at
// level 1 store 209.4 MB with windowLog 23 alone and 122.6 MB with long-distance matching as
// well (zstd 1.5.4 CLI); long-distance matching takes about a quarter of a full scan's CPU
// (perf). So both are on. (Level -1 with the same window stores 122.65 MB in about a quarter
// less time than level 1.)
//
// Decompressor::decompress never trusts a size it reads: the frame must declare a content size equal
// to the size the pack's header implies, be the only frame in the payload, and decompress to
// exactly that many bytes into the caller's buffer (which has exactly that size). An object whose
// header does not imply the size (a log segment, vault/log_segment.h) reads the declared size
// with frameContentSize(), bounds it itself, and then calls decompress() with it.
//
// Thread safety: a Compressor belongs to one owner, who serializes its calls (a scan's mutex);
// Decompressors may run on many threads at once, each with its own Decompressor.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace litevault {

class Compressor {
 public:
  Compressor() = default;
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // level: zstd's (1..22; negative levels are zstd's fast modes). Errors: SQLITE_NOMEM,
  // SQLITE_MISUSE (a parameter zstd refuses).
  Status init(int level);
  // The room compress() needs for n bytes of input (ZSTD_compressBound).
  static size_t bound(size_t n);
  // Compresses src[0..n) into one frame at dst[0 .. *written); capacity >= bound(n). The
  // caller's buffer is written directly: no scratch copy, nothing zero-filled.
  Status compress(const uint8_t* src, size_t n, uint8_t* dst, size_t capacity, size_t* written);

 private:
  ZSTD_CCtx_s* cctx_ = nullptr;
};

class Decompressor {
 public:
  Decompressor() = default;
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Decompresses one zstd frame src[0..n) into dst[0..expected). The frame's declared content
  // size and its decompressed size must both be `expected`, and it must fill src exactly.
  // Errors: LITEVAULT_VAULT_CORRUPT "<what>" (the caller adds which object), SQLITE_NOMEM.
  Status decompress(const uint8_t* src, size_t n, uint8_t* dst, size_t expected);
  // The content size the zstd frame at src[0..n) declares (nothing is decompressed). Errors:
  // LITEVAULT_VAULT_CORRUPT "<what>" (not a frame; a frame without its content size).
  static Status frameContentSize(const uint8_t* src, size_t n, uint64_t* out);

 private:
  ZSTD_DCtx_s* dctx_ = nullptr;
};

}  // namespace litevault
