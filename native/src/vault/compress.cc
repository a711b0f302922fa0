// zstd compression and bounded decompression of pack payloads; see compress.h.
#include "vault/compress.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <string>

namespace litevault {
namespace {

constexpr int kWindowLog = 23;  // 8 MiB: a whole pack (vault_format.h kMaxPackPageBytes)

Status zstdError(Code code, const char* what, size_t result) {
  return Status::error(code, std::string(what) + ": " + ZSTD_getErrorName(result));
}

}  // namespace

Compressor::~Compressor() { ZSTD_freeCCtx(cctx_); }

Status Compressor::init(int level) {
  if (cctx_ == nullptr) cctx_ = ZSTD_createCCtx();
  if (cctx_ == nullptr) return Status::error(Code::kNoMem, "cannot allocate a zstd compression context");
  size_t r = ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_and_parameters);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(r)) return zstdError(Code::kMisuse, "zstd level", r);
  r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, kWindowLog);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_enableLongDistanceMatching, 1);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_contentSizeFlag, 1);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0);  // the pack has its own
  if (ZSTD_isError(r)) return zstdError(Code::kMisuse, "zstd parameters", r);
  return Status::ok();
}

size_t Compressor::bound(size_t n) { return ZSTD_compressBound(n); }

Status Compressor::compress(const uint8_t* src, size_t n, uint8_t* dst, size_t capacity, size_t* written) {
  *written = 0;
  if (cctx_ == nullptr) return Status::error(Code::kMisuse, "zstd compressor used before init()");
  if (capacity < ZSTD_compressBound(n)) return Status::error(Code::kMisuse, "zstd compression: the output buffer is smaller than the bound");
  // One frame per call, with its content size (pledged by the one-shot API).
  const size_t r = ZSTD_compress2(cctx_, dst, capacity, src, n);
  if (ZSTD_isError(r)) {
    ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
    return zstdError(ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? Code::kNoMem : Code::kInternal, "zstd compression failed", r);
  }
  *written = r;
  return Status::ok();
}

Decompressor::~Decompressor() { ZSTD_freeDCtx(dctx_); }

Status Decompressor::frameContentSize(const uint8_t* src, size_t n, uint64_t* out) {
  *out = 0;
  const unsigned long long declared = ZSTD_getFrameContentSize(src, n);
  if (declared == ZSTD_CONTENTSIZE_ERROR) return Status::error(Code::kVaultCorrupt, "the payload is not a zstd frame");
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return Status::error(Code::kVaultCorrupt, "the zstd frame does not declare its size");
  *out = declared;
  return Status::ok();
}

Status Decompressor::decompress(const uint8_t* src, size_t n, uint8_t* dst, size_t expected) {
  if (dctx_ == nullptr) {
    dctx_ = ZSTD_createDCtx();
    if (dctx_ == nullptr) return Status::error(Code::kNoMem, "cannot allocate a zstd decompression context");
    ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kWindowLog);
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(src, n);
  if (declared == ZSTD_CONTENTSIZE_ERROR) return Status::error(Code::kVaultCorrupt, "the payload is not a zstd frame");
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return Status::error(Code::kVaultCorrupt, "the zstd frame does not declare its size");
  if (declared != expected) {
    return Status::error(Code::kVaultCorrupt, "the zstd frame holds " + std::to_string(declared) + " bytes, the header implies " +
                                                  std::to_string(expected));
  }
  const size_t frame = ZSTD_findFrameCompressedSize(src, n);
  if (ZSTD_isError(frame) || frame != n) return Status::error(Code::kVaultCorrupt, "the payload is not exactly one zstd frame");
  const size_t r = ZSTD_decompressDCtx(dctx_, dst, expected, src, n);
  if (ZSTD_isError(r)) {
    if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation) return zstdError(Code::kNoMem, "zstd decompression", r);
    return zstdError(Code::kVaultCorrupt, "the zstd frame does not decompress", r);
  }
  if (r != expected) return Status::error(Code::kVaultCorrupt, "the zstd frame decompresses to " + std::to_string(r) + " bytes");
  return Status::ok();
}

}  // namespace litevault
