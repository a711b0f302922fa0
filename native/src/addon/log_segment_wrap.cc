// binding.encodeLogSegment and binding.inspectLogSegment; see log_segment_wrap.h.
#include "addon/log_segment_wrap.h"

#include <string>
#include <utility>
#include <vector>

#include "addon/args.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "vault/log_segment.h"

namespace litevault {
namespace {

constexpr double kMaxTxidNumber = 9007199254740991.0;  // 2^53 - 1 (log_segment.h kMaxTxid)

class EncodeSegmentWorker : public PromiseWorker {
 public:
  EncodeSegmentWorker(Napi::Env env, SegmentEncodeOptions options) : PromiseWorker(env, "litevault:encodeLogSegment"), options_(options) {}
  // Keeps buffer alive while Run() reads data[0..n).
  void addPart(Napi::Object buffer, const uint8_t* data, size_t n) {
    refs_.push_back(Napi::Persistent(buffer));
    parts_.emplace_back(data, n);
  }

 protected:
  Status Run() override { return encodeSegment(options_, parts_, &out_, &key_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
    o.Set("key", hexOf(key_));
    return o;
  }

 private:
  const SegmentEncodeOptions options_;
  std::vector<Napi::ObjectReference> refs_;
  std::vector<std::pair<const uint8_t*, size_t>> parts_;
  std::vector<uint8_t> out_;
  Hash128 key_;
};

class InspectSegmentWorker : public PromiseWorker {
 public:
  InspectSegmentWorker(Napi::Env env, Napi::Object buffer, const uint8_t* data, size_t n, const Hash128& key)
      : PromiseWorker(env, "litevault:inspectLogSegment"), buffer_(Napi::Persistent(buffer)), data_(data), n_(n), key_(key) {}

 protected:
  Status Run() override {
    Decompressor decompressor;
    LV_RETURN_IF_ERROR(decodeSegment(data_, n_, key_, &decompressor, &segment_));
    segment_.decompressed.reset();  // Result() reads only the parsed fields
    segment_.records = nullptr;
    return Status::ok();
  }
  Napi::Value Result(Napi::Env env) override {
    const SegmentHeader& h = segment_.header;
    Napi::Object o = Napi::Object::New(env);
    o.Set("pageSize", h.pageSize);
    o.Set("salt1", h.salt1);
    o.Set("salt2", h.salt2);
    o.Set("firstTxid", static_cast<double>(h.firstTxid));
    o.Set("lastTxid", static_cast<double>(h.lastTxid));
    o.Set("compression", h.compression == PackCompression::kZstd ? "zstd" : "none");
    Napi::Array records = Napi::Array::New(env, segment_.list.size());
    for (size_t i = 0; i < segment_.list.size(); i++) {
      const SegmentRecord& r = segment_.list[i];
      Napi::Object e = Napi::Object::New(env);
      e.Set("txid", static_cast<double>(r.txid));
      e.Set("recordedAt", static_cast<double>(r.recordedAt));
      e.Set("endFrame", r.endFrame);
      e.Set("pageCount", r.pageCount);
      e.Set("pages", r.pages);
      records.Set(static_cast<uint32_t>(i), e);
    }
    o.Set("records", records);
    return o;
  }

 private:
  Napi::ObjectReference buffer_;  // keeps the bytes alive while Run() reads them
  const uint8_t* const data_;
  const size_t n_;
  const Hash128 key_;
  DecodedSegment segment_;
};

}  // namespace

Napi::Value encodeLogSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage =
      "encodeLogSegment(header, records): header must be {pageSize, salt1, salt2, firstTxid, lastTxid (integers 1..2^53-1), "
      "compression: 'zstd' | 'none', level (integer up to 22)} and records an array of Buffers";
  if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsArray()) return rejectMisuse(env, usage);
  Napi::Object h = info[0].As<Napi::Object>();
  double pageSize = 0, salt1 = 0, salt2 = 0, first = 0, last = 0, level = 0;
  Napi::Value compression = h.Get("compression");
  const std::string algorithm = compression.IsString() ? compression.As<Napi::String>().Utf8Value() : "";
  if (!integerOf(h.Get("pageSize"), 0, 4294967295.0, &pageSize) || !integerOf(h.Get("salt1"), 0, 4294967295.0, &salt1) ||
      !integerOf(h.Get("salt2"), 0, 4294967295.0, &salt2) || !integerOf(h.Get("firstTxid"), 1, kMaxTxidNumber, &first) ||
      !integerOf(h.Get("lastTxid"), 1, kMaxTxidNumber, &last) || !integerOf(h.Get("level"), -131072, 22, &level) ||
      (algorithm != "zstd" && algorithm != "none")) {
    return rejectMisuse(env, usage);
  }
  SegmentEncodeOptions options;
  options.pageSize = static_cast<uint32_t>(pageSize);
  options.salt1 = static_cast<uint32_t>(salt1);
  options.salt2 = static_cast<uint32_t>(salt2);
  options.firstTxid = static_cast<uint64_t>(first);
  options.lastTxid = static_cast<uint64_t>(last);
  options.compress = algorithm == "zstd";
  options.level = static_cast<int>(level);
  Napi::Array records = info[1].As<Napi::Array>();
  std::vector<Napi::Value> items;
  for (uint32_t i = 0; i < records.Length(); i++) {
    const uint8_t* data = nullptr;
    size_t n = 0;
    items.push_back(records.Get(i));
    if (!bytesOf(items.back(), &data, &n)) return rejectMisuse(env, usage);
  }
  auto* worker = new EncodeSegmentWorker(env, options);
  for (const Napi::Value& item : items) {
    const uint8_t* data = nullptr;
    size_t n = 0;
    bytesOf(item, &data, &n);
    worker->addPart(item.As<Napi::Object>(), data, n);
  }
  return worker->Start();
}

Napi::Value inspectLogSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t n = 0;
  Hash128 key;
  if (info.Length() != 2 || !bytesOf(info[0], &data, &n) || !info[1].IsString() || !parseHash(info[1].As<Napi::String>().Utf8Value(), &key)) {
    return rejectMisuse(env, "inspectLogSegment(data, key): data must be a Buffer and key 32 hex digits");
  }
  return (new InspectSegmentWorker(env, info[0].As<Napi::Object>(), data, n, key))->Start();
}

}  // namespace litevault
