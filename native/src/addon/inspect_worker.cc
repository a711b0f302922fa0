// binding.inspect(path): reads a database header off the main thread and returns it as a plain
// object whose field names lib/index.ts documents (DatabaseInfo).
#include "addon/inspect_worker.h"

#include <string>

#include "addon/promise_worker.h"
#include "pager/inspect.h"

namespace litevault {
namespace {

const char* encodingName(uint32_t encoding) {
  switch (static_cast<TextEncoding>(encoding)) {
    case TextEncoding::kUtf8: return "UTF-8";
    case TextEncoding::kUtf16le: return "UTF-16le";
    case TextEncoding::kUtf16be: return "UTF-16be";
    case TextEncoding::kUnset: break;
  }
  return nullptr;
}

// PRAGMA user_version, application_id and default_cache_size report these as signed 32-bit.
int32_t asSigned(uint32_t v) { return static_cast<int32_t>(v); }

class InspectWorker : public PromiseWorker {
 public:
  InspectWorker(Napi::Env env, std::string path) : PromiseWorker(env, "litevault:inspect"), path_(std::move(path)) {}

 protected:
  Status Run() override { return inspectDatabase(path_, &info_); }

  Napi::Value Result(Napi::Env env) override {
    const DbHeader& h = info_.header;
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", info_.path);
    o.Set("fileSize", static_cast<double>(info_.fileSize));
    o.Set("empty", info_.empty);
    o.Set("pageSize", h.pageSize);
    o.Set("pageCount", info_.pageCount);
    o.Set("changeCounter", h.changeCounter);
    o.Set("versionValidFor", h.versionValidFor);
    o.Set("inHeaderPageCount", h.inHeaderPageCount);
    o.Set("inHeaderSizeValid", h.inHeaderSizeValid());
    o.Set("schemaCookie", h.schemaCookie);
    o.Set("schemaFormat", h.schemaFormat);
    // 0 (no table created yet) reads as SQLite's default, UTF-8, as PRAGMA encoding reports.
    const char* encoding = info_.empty ? nullptr : encodingName(h.textEncoding ? h.textEncoding : 1);
    o.Set("textEncoding", encoding ? Napi::Value(Napi::String::New(env, encoding)) : env.Null());
    o.Set("userVersion", asSigned(h.userVersion));
    o.Set("applicationId", asSigned(h.applicationId));
    o.Set("defaultCacheSize", asSigned(h.defaultCacheSize));
    o.Set("freelistCount", h.freelistCount);
    o.Set("freelistTrunk", h.freelistTrunk);
    o.Set("reservedBytes", h.reservedBytes);
    o.Set("autoVacuum", h.largestRootPage == 0 ? "none" : (h.incrementalVacuum ? "incremental" : "full"));
    o.Set("journalMode", h.readVersion == 2 || h.writeVersion == 2 ? "wal" : "rollback");
    o.Set("writeVersion", h.writeVersion);
    o.Set("readVersion", h.readVersion);
    o.Set("sqliteVersion", h.sqliteVersion);
    o.Set("headerFromWal", info_.headerFromWal);
    if (info_.walExists) {
      const WalScan& w = info_.wal;
      Napi::Object wal = Napi::Object::New(env);
      wal.Set("fileSize", static_cast<double>(w.fileSize));
      wal.Set("headerValid", w.headerValid);
      wal.Set("pageSize", w.header.pageSize);
      wal.Set("frames", w.mxFrame);
      wal.Set("framesInFile", w.framesInFile);
      wal.Set("pageCount", w.nPage);
      wal.Set("checkpointSequence", w.header.checkpointSequence);
      wal.Set("salt1", w.header.salt1);
      wal.Set("salt2", w.header.salt2);
      wal.Set("bigEndianChecksums", w.headerValid && w.header.bigEndianChecksums());
      if (info_.shmHeaderValid) {
        Napi::Object index = Napi::Object::New(env);
        index.Set("frames", info_.shmHeader.mxFrame);
        index.Set("backfilled", info_.nBackfill);
        index.Set("backfillAttempted", info_.nBackfillAttempted);
        index.Set("change", info_.shmHeader.change);
        Napi::Array marks = Napi::Array::New(env, kWalReaders);
        for (uint32_t i = 0; i < kWalReaders; i++) {
          uint32_t m = info_.readMarks[i];
          marks.Set(i, m == kReadMarkNotUsed ? env.Null() : Napi::Value(Napi::Number::New(env, m)));
        }
        index.Set("readMarks", marks);
        wal.Set("index", index);
      } else {
        wal.Set("index", env.Null());
      }
      o.Set("wal", wal);
    } else {
      o.Set("wal", env.Null());
    }
    return o;
  }

 private:
  const std::string path_;
  DatabaseInfo info_;
};

}  // namespace

Napi::Value inspect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return rejectMisuse(env, "inspect(path): path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) return rejectMisuse(env, "inspect(path): path contains a NUL byte");
  return (new InspectWorker(env, std::move(path)))->Start();
}

}  // namespace litevault
