// binding.VaultScan, binding.VaultRestore, binding.lockFile and the manifest helpers; see vault_wrap.h.
#include "addon/vault_wrap.h"

#include <string>
#include <vector>

#include "addon/args.h"
#include "addon/database_wrap.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"
#include "addon/verify_wrap.h"
#include "vault/vault_format.h"

namespace litevault {
namespace {

Napi::Value throwStatus(Napi::Env env, const Status& status) {
  Napi::Error(env, makeError(env, status)).ThrowAsJavaScriptException();
  return env.Undefined();
}

// Decodes a NativeChainLink[]: every manifest, with its label. Misuse is reported as such; a
// manifest that does not decode gives decodeManifest's error.
Status decodeChain(const Napi::Value& value, const char* what, std::vector<DecodedManifest>* chain, std::vector<std::string>* labels) {
  if (!value.IsArray()) return Status::error(Code::kMisuse, std::string(what) + " must be an array of {manifest, label}");
  Napi::Array array = value.As<Napi::Array>();
  chain->resize(array.Length());
  labels->resize(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) return Status::error(Code::kMisuse, std::string(what) + "[" + std::to_string(i) + "] must be {manifest, label}");
    Napi::Object link = item.As<Napi::Object>();
    Napi::Value label = link.Get("label");
    const uint8_t* data = nullptr;
    size_t n = 0;
    if (!label.IsString() || !bytesOf(link.Get("manifest"), &data, &n)) {
      return Status::error(Code::kMisuse, std::string(what) + "[" + std::to_string(i) + "] must be {manifest: Buffer, label: string}");
    }
    (*labels)[i] = label.As<Napi::String>().Utf8Value();
    LV_RETURN_IF_ERROR(decodeManifest(data, n, (*labels)[i], &(*chain)[i]));
  }
  return Status::ok();
}

const char* modeName(VaultScan::Mode mode) { return mode == VaultScan::Mode::kSnapshot ? "snapshot" : "restart"; }

void setProgress(Napi::Object o, const VaultScan::Progress& p) {
  o.Set("pageSize", p.pageSize);
  o.Set("pageCount", p.pageCount);
  o.Set("pagesScanned", p.pagesScanned);
  o.Set("pagesStored", static_cast<double>(p.pagesStored));
  o.Set("bytesStored", static_cast<double>(p.bytesStored));
  o.Set("bytesRead", static_cast<double>(p.bytesRead));
  o.Set("restarts", p.restarts);
  o.Set("heldLock", p.heldLock);
}

class ScanStepWorker : public PromiseWorker {
 public:
  ScanStepWorker(Napi::Env env, std::shared_ptr<VaultScan> scan, Napi::Object buffer, uint8_t* data, size_t n)
      : PromiseWorker(env, "litevault:vaultScan.step"), scan_(std::move(scan)), buffer_(Napi::Persistent(buffer)) {
    result_.out = data;
    result_.outCapacity = n;
  }

 protected:
  Status Run() override { return scan_->step(&result_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("done", result_.progress.done);
    o.Set("packBytes", static_cast<double>(result_.packBytes));
    o.Set("packKey", result_.packBytes > 0 ? Napi::Value(Napi::String::New(env, result_.packKey)) : env.Null());
    setProgress(o, result_.progress);
    o.Set("mode", modeName(result_.progress.mode));
    return o;
  }

 private:
  std::shared_ptr<VaultScan> scan_;
  Napi::ObjectReference buffer_;  // keeps the pack buffer alive while Run() writes it
  VaultScan::StepResult result_;
};

class ScanFinishWorker : public PromiseWorker {
 public:
  ScanFinishWorker(Napi::Env env, std::shared_ptr<VaultScan> scan)
      : PromiseWorker(env, "litevault:vaultScan.finish"), scan_(std::move(scan)) {}

 protected:
  Status Run() override { return scan_->finish(&result_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("table", Napi::Buffer<uint8_t>::Copy(env, result_.table.data(), result_.table.size()));
    setProgress(o, result_.progress);
    Napi::Array packs = Napi::Array::New(env, result_.packs.size());
    for (size_t i = 0; i < result_.packs.size(); i++) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("key", result_.packs[i].key);
      p.Set("bytes", static_cast<double>(result_.packs[i].bytes));
      p.Set("slots", result_.packs[i].slots);
      packs.Set(static_cast<uint32_t>(i), p);
    }
    o.Set("packs", packs);
    o.Set("journalMode", result_.wal ? "wal" : "rollback");
    o.Set("changeCounter", result_.changeCounter);
    o.Set("walFrame", result_.walFrame);
    o.Set("walSalt1", result_.walSalt1);
    o.Set("walSalt2", result_.walSalt2);
    o.Set("walChecksum", walChecksumValue(env, result_.walChecksumKnown, result_.walChecksum));
    o.Set("snapshotAt", static_cast<double>(result_.snapshotAtMs));
    o.Set("device", result_.device);
    o.Set("inode", result_.inode);
    o.Set("path", result_.path);
    return o;
  }

 private:
  std::shared_ptr<VaultScan> scan_;
  VaultScan::Result result_;
};

// A void call on a native object, on the threadpool.
template <typename T>
class VoidWorker : public PromiseWorker {
 public:
  using Call = Status (*)(T&);
  VoidWorker(Napi::Env env, const char* name, std::shared_ptr<T> target, Call call)
      : PromiseWorker(env, name), target_(std::move(target)), call_(call) {}

 protected:
  Status Run() override { return call_(*target_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<T> target_;
  Call call_;
};

class WritePackWorker : public PromiseWorker {
 public:
  WritePackWorker(Napi::Env env, std::shared_ptr<VaultRestore> restore, uint32_t link, uint32_t pack, Napi::Object buffer,
                  const uint8_t* data, size_t n)
      : PromiseWorker(env, "litevault:vaultRestore.writePack"),
        restore_(std::move(restore)),
        link_(link),
        pack_(pack),
        buffer_(Napi::Persistent(buffer)),
        data_(data),
        n_(n) {}

 protected:
  Status Run() override { return restore_->writePack(link_, pack_, data_, n_, &pagesWritten_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("pagesWritten", pagesWritten_);
    return o;
  }

 private:
  std::shared_ptr<VaultRestore> restore_;
  const uint32_t link_, pack_;
  Napi::ObjectReference buffer_;  // keeps the bytes alive while Run() reads them
  const uint8_t* const data_;
  const size_t n_;
  uint32_t pagesWritten_ = 0;
};

class ApplySegmentWorker : public PromiseWorker {
 public:
  ApplySegmentWorker(Napi::Env env, std::shared_ptr<VaultRestore> restore, Napi::Object buffer, const uint8_t* data, size_t n,
                     const Hash128& key, uint64_t afterTxid, uint64_t uptoTxid)
      : PromiseWorker(env, "litevault:vaultRestore.applySegment"),
        restore_(std::move(restore)),
        buffer_(Napi::Persistent(buffer)),
        data_(data),
        n_(n),
        key_(key),
        afterTxid_(afterTxid),
        uptoTxid_(uptoTxid) {}

 protected:
  Status Run() override { return restore_->applySegment(data_, n_, key_, afterTxid_, uptoTxid_, &applied_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("transactions", applied_.transactions);
    o.Set("firstTxid", static_cast<double>(applied_.firstTxid));
    o.Set("lastTxid", static_cast<double>(applied_.lastTxid));
    o.Set("pageCount", applied_.pageCount);
    return o;
  }

 private:
  std::shared_ptr<VaultRestore> restore_;
  Napi::ObjectReference buffer_;  // keeps the bytes alive while Run() reads them
  const uint8_t* const data_;
  const size_t n_;
  const Hash128 key_;
  const uint64_t afterTxid_, uptoTxid_;
  VaultRestore::Applied applied_;
};

class LockWorker : public PromiseWorker {
 public:
  LockWorker(Napi::Env env, std::string path) : PromiseWorker(env, "litevault:lockFile"), path_(std::move(path)) {}

 protected:
  Status Run() override {
    std::unique_ptr<VaultLock> lock;
    LV_RETURN_IF_ERROR(VaultLock::acquire(path_, &lock));
    lock_ = std::move(lock);
    return Status::ok();
  }
  Napi::Value Result(Napi::Env env) override {
    auto* holder = new std::shared_ptr<VaultLock>(std::move(lock_));
    Napi::External<std::shared_ptr<VaultLock>> external =
        Napi::External<std::shared_ptr<VaultLock>>::New(env, holder, [](Napi::Env, std::shared_ptr<VaultLock>* p) { delete p; });
    return env.GetInstanceData<AddonData>()->vaultLockClass.New({external});
  }

 private:
  const std::string path_;
  std::shared_ptr<VaultLock> lock_;
};

}  // namespace

// ---- manifest helpers (sync) ----

Napi::Value vaultDecodeManifest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t n = 0;
  if (info.Length() != 2 || !bytesOf(info[0], &data, &n) || !info[1].IsString()) {
    return throwMisuse(env, "vaultDecodeManifest(bytes, label): bytes must be a Buffer and label a string");
  }
  DecodedManifest m;
  Status status = decodeManifest(data, n, info[1].As<Napi::String>().Utf8Value(), &m);
  if (!status.isOk()) return throwStatus(env, status);
  Napi::Object o = Napi::Object::New(env);
  o.Set("meta", m.metaJson);
  o.Set("runs", static_cast<double>(m.runs.size()));
  o.Set("pages", static_cast<double>(m.pages));
  return o;
}

Napi::Value vaultEncodeManifest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* table = nullptr;
  size_t n = 0;
  if (info.Length() != 2 || !info[0].IsString() || !bytesOf(info[1], &table, &n)) {
    return throwMisuse(env, "vaultEncodeManifest(meta, table): meta must be a string and table a Buffer");
  }
  std::vector<uint8_t> out;
  Status status = encodeManifest(info[0].As<Napi::String>().Utf8Value(), table, n, &out);
  if (!status.isOk()) return throwStatus(env, status);
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

Napi::Value vaultHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t n = 0;
  if (info.Length() != 1 || !bytesOf(info[0], &data, &n)) return throwMisuse(env, "vaultHash(bytes): bytes must be a Buffer");
  return Napi::String::New(env, hexOf(hash128(data, n)));
}

// ---- VaultScan ----

Napi::Function VaultScanWrap::Define(Napi::Env env) {
  return DefineClass(env, "VaultScan",
                     {
                         InstanceMethod<&VaultScanWrap::Step>("step"),
                         InstanceMethod<&VaultScanWrap::Finish>("finish"),
                         InstanceMethod<&VaultScanWrap::Close>("close"),
                         InstanceValue("maxPackBytes", Napi::Number::New(env, static_cast<double>(kMaxPackBytes)), napi_enumerable),
                     });
}

VaultScanWrap::VaultScanWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VaultScanWrap>(info) {
  Napi::Env env = info.Env();
  DatabaseWrap* db = info.Length() == 2 ? DatabaseWrap::Unwrap(info[0]) : nullptr;
  if (db == nullptr || !info[1].IsObject()) {
    throwMisuse(env, "new VaultScan(db, options): db must be an open Database and options an object");
    return;
  }
  Napi::Object o = info[1].As<Napi::Object>();
  VaultScan::Options options;
  Napi::Value compression = o.Get("compression");
  const std::string algorithm = compression.IsString() ? compression.As<Napi::String>().Utf8Value() : "";
  if (algorithm != "zstd" && algorithm != "none") {
    throwMisuse(env, "new VaultScan(): compression must be 'none' or 'zstd'");
    return;
  }
  options.compress = algorithm == "zstd";
  double level = 0, threads = 0, maxRestarts = 0, timeout = 0;
  if (!integerOf(o.Get("level"), -131072, 22, &level) || !integerOf(o.Get("threads"), 0, 64, &threads) ||
      !integerOf(o.Get("maxRestarts"), -1, 2147483647, &maxRestarts) || !integerOf(o.Get("busyTimeoutMs"), 0, 2147483647, &timeout)) {
    throwMisuse(env, "new VaultScan(): level must be an integer up to 22, threads 0..64, maxRestarts >= -1, busyTimeoutMs 0..2147483647");
    return;
  }
  options.level = static_cast<int>(level);
  options.threads = static_cast<int>(threads);
  options.maxRestarts = static_cast<int>(maxRestarts);
  options.busyTimeoutMs = static_cast<int>(timeout);
  options.verify = !o.Has("verify") || o.Get("verify").ToBoolean().Value();
  background_ = o.Get("background").ToBoolean().Value();
  // The base manifests are copied here and decoded by the first step, on the threadpool.
  std::vector<VaultScan::BaseLink> base;
  Napi::Value links = o.Get("base");
  Status status;
  if (!links.IsArray()) status = Status::error(Code::kMisuse, "new VaultScan(): options.base must be an array of {manifest, label}");
  for (uint32_t i = 0; status.isOk() && i < links.As<Napi::Array>().Length(); i++) {
    Napi::Value item = links.As<Napi::Array>().Get(i);
    const uint8_t* data = nullptr;
    size_t n = 0;
    if (!item.IsObject() || !item.As<Napi::Object>().Get("label").IsString() || !bytesOf(item.As<Napi::Object>().Get("manifest"), &data, &n)) {
      status = Status::error(Code::kMisuse, "new VaultScan(): options.base[" + std::to_string(i) + "] must be {manifest: Buffer, label: string}");
      break;
    }
    VaultScan::BaseLink link;
    link.manifest.assign(data, data + n);
    link.label = item.As<Napi::Object>().Get("label").As<Napi::String>().Utf8Value();
    base.push_back(std::move(link));
  }
  std::unique_ptr<VaultScan> scan;
  if (status.isOk()) status = VaultScan::create(db->connection(), std::move(base), options, &scan);
  if (!status.isOk()) {
    throwStatus(env, status);
    return;
  }
  scan_ = std::move(scan);
  env.GetInstanceData<AddonData>()->handles.add(scan_);
}

Napi::Value VaultScanWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data = nullptr;
  size_t n = 0;
  if (info.Length() != 1 || !bytesOf(info[0], &data, &n) || n < kMaxPackBytes) {
    return rejectMisuse(env, "scan.step(buffer): buffer must be a Buffer of at least scan.maxPackBytes (" + std::to_string(kMaxPackBytes) + ") bytes");
  }
  auto* worker = new ScanStepWorker(env, scan_, info[0].As<Napi::Object>(), data, n);
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value VaultScanWrap::Finish(const Napi::CallbackInfo& info) {
  auto* worker = new ScanFinishWorker(info.Env(), scan_);
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value VaultScanWrap::Close(const Napi::CallbackInfo& info) {
  auto* worker = new VoidWorker<VaultScan>(info.Env(), "litevault:vaultScan.close", scan_, [](VaultScan& s) {
    s.close();
    return Status::ok();
  });
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

// ---- VaultRestore ----

Napi::Function VaultRestoreWrap::Define(Napi::Env env) {
  return DefineClass(env, "VaultRestore",
                     {
                         InstanceAccessor<&VaultRestoreWrap::PacksNeeded>("packsNeeded"),
                         InstanceAccessor<&VaultRestoreWrap::PageCount>("pageCount"),
                         InstanceAccessor<&VaultRestoreWrap::PageSize>("pageSize"),
                         InstanceMethod<&VaultRestoreWrap::Open>("open"),
                         InstanceMethod<&VaultRestoreWrap::WritePack>("writePack"),
                         InstanceMethod<&VaultRestoreWrap::ApplySegment>("applySegment"),
                         InstanceMethod<&VaultRestoreWrap::Finish>("finish"),
                         InstanceMethod<&VaultRestoreWrap::Abort>("abort"),
                         InstanceMethod<&VaultRestoreWrap::OpenCheck>("openCheck"),
                         InstanceMethod<&VaultRestoreWrap::PacksForCheck>("packsForCheck"),
                         InstanceMethod<&VaultRestoreWrap::FinishCheck>("finishCheck"),
                     });
}

VaultRestoreWrap::VaultRestoreWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VaultRestoreWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsObject()) {
    throwMisuse(env, "new VaultRestore(tempPath, {chain, packs}): bad arguments");
    return;
  }
  const std::string tempPath = info[0].As<Napi::String>().Utf8Value();
  if (tempPath.find('\0') != std::string::npos) {  // '' is a check-only restore (openCheck)
    throwMisuse(env, "new VaultRestore(tempPath): bad path");
    return;
  }
  Napi::Object o = info[1].As<Napi::Object>();
  background_ = o.Get("background").ToBoolean().Value();
  std::vector<DecodedManifest> chain;
  std::vector<std::string> labels;
  Status status = decodeChain(o.Get("chain"), "options.chain", &chain, &labels);
  std::vector<std::vector<std::string>> keys;
  if (status.isOk()) {
    Napi::Value packs = o.Get("packs");
    if (!packs.IsArray()) status = Status::error(Code::kMisuse, "new VaultRestore(): options.packs must be string[][]");
    for (uint32_t i = 0; status.isOk() && i < packs.As<Napi::Array>().Length(); i++) {
      Napi::Value row = packs.As<Napi::Array>().Get(i);
      if (!row.IsArray()) {
        status = Status::error(Code::kMisuse, "new VaultRestore(): options.packs must be string[][]");
        break;
      }
      keys.emplace_back();
      for (uint32_t j = 0; j < row.As<Napi::Array>().Length(); j++) {
        Napi::Value key = row.As<Napi::Array>().Get(j);
        if (!key.IsString()) {
          status = Status::error(Code::kMisuse, "new VaultRestore(): options.packs must be string[][]");
          break;
        }
        keys.back().push_back(key.As<Napi::String>().Utf8Value());
      }
    }
  }
  std::unique_ptr<VaultRestore> restore;
  if (status.isOk()) status = VaultRestore::create(tempPath, std::move(chain), std::move(labels), std::move(keys), &restore);
  if (!status.isOk()) {
    throwStatus(env, status);
    return;
  }
  restore_ = std::move(restore);
  env.GetInstanceData<AddonData>()->handles.add(restore_);
}

namespace {

Napi::Array packList(Napi::Env env, const std::vector<VaultRestore::PackNeeded>& needed) {
  Napi::Array out = Napi::Array::New(env, needed.size());
  for (size_t i = 0; i < needed.size(); i++) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("link", needed[i].link);
    p.Set("pack", needed[i].pack);
    p.Set("key", needed[i].key);
    out.Set(static_cast<uint32_t>(i), p);
  }
  return out;
}

}  // namespace

Napi::Value VaultRestoreWrap::PacksNeeded(const Napi::CallbackInfo& info) { return packList(info.Env(), restore_->packsNeeded()); }

// openCheck(maxFindings, cksumvfs): synchronous, no I/O.
Napi::Value VaultRestoreWrap::OpenCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StructureCheck::Options options;
  if (info.Length() != 2 || !parseCheckOptions(env, info[0], info[1], &options)) return env.Undefined();
  Status status = restore_->openCheck(options);
  if (!status.isOk()) Napi::Error(env, makeError(env, status)).ThrowAsJavaScriptException();
  return env.Undefined();
}

// packsForCheck(): synchronous, no I/O (a walk over the check's page summaries).
Napi::Value VaultRestoreWrap::PacksForCheck(const Napi::CallbackInfo& info) { return packList(info.Env(), restore_->packsForCheck()); }

Napi::Value VaultRestoreWrap::FinishCheck(const Napi::CallbackInfo& info) {
  std::shared_ptr<VaultRestore> restore = restore_;
  return startReportWorker(info.Env(), "litevault:vaultRestore.finishCheck", info.This().As<Napi::Object>(),
                           [restore](StructureCheck::Report* out) { return restore->finishCheck(out); }, background_);
}

Napi::Value VaultRestoreWrap::PageCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), restore_->pageCount());
}
Napi::Value VaultRestoreWrap::PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), restore_->pageSize());
}

Napi::Value VaultRestoreWrap::Open(const Napi::CallbackInfo& info) {
  auto* worker = new VoidWorker<VaultRestore>(info.Env(), "litevault:vaultRestore.open", restore_, [](VaultRestore& r) { return r.open(); });
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value VaultRestoreWrap::WritePack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double link = 0, pack = 0;
  const uint8_t* data = nullptr;
  size_t n = 0;
  if (info.Length() != 3 || !integerOf(info[0], 0, 4294967295.0, &link) || !integerOf(info[1], 0, 4294967295.0, &pack) ||
      !bytesOf(info[2], &data, &n)) {
    return rejectMisuse(env, "restore.writePack(link, pack, bytes): link and pack must be indexes and bytes a Buffer");
  }
  auto* worker = new WritePackWorker(env, restore_, static_cast<uint32_t>(link), static_cast<uint32_t>(pack), info[2].As<Napi::Object>(),
                                     data, n);
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value VaultRestoreWrap::ApplySegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t n = 0;
  Hash128 key;
  double after = 0, upto = 0;
  if (info.Length() != 4 || !bytesOf(info[0], &data, &n) || !info[1].IsString() || !parseHash(info[1].As<Napi::String>().Utf8Value(), &key) ||
      !integerOf(info[2], 0, 9007199254740991.0, &after) || !integerOf(info[3], 0, 9007199254740991.0, &upto)) {
    return rejectMisuse(env, "restore.applySegment(bytes, key, afterTxid, uptoTxid): bytes must be a Buffer, key 32 hex digits and the txids integers 0..2^53-1");
  }
  auto* worker = new ApplySegmentWorker(env, restore_, info[0].As<Napi::Object>(), data, n, key, static_cast<uint64_t>(after),
                                        static_cast<uint64_t>(upto));
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value VaultRestoreWrap::Finish(const Napi::CallbackInfo& info) {
  auto* worker = new VoidWorker<VaultRestore>(info.Env(), "litevault:vaultRestore.finish", restore_, [](VaultRestore& r) { return r.finish(); });
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

Napi::Value VaultRestoreWrap::Abort(const Napi::CallbackInfo& info) {
  auto* worker = new VoidWorker<VaultRestore>(info.Env(), "litevault:vaultRestore.abort", restore_, [](VaultRestore& r) { return r.abort(); });
  return worker->StartFor(info.This().As<Napi::Object>(), background_);
}

// ---- lockFile ----

Napi::Function VaultLockWrap::Define(Napi::Env env) {
  return DefineClass(env, "VaultLock", {InstanceMethod<&VaultLockWrap::Release>("release")});
}

VaultLockWrap::VaultLockWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VaultLockWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throwMisuse(info.Env(), "vault locks are made by lockFile(), not by new");
    return;
  }
  lock_ = *info[0].As<Napi::External<std::shared_ptr<VaultLock>>>().Data();
  if (lock_) info.Env().GetInstanceData<AddonData>()->handles.add(lock_);
}

Napi::Value VaultLockWrap::Release(const Napi::CallbackInfo& info) {
  if (!lock_) return rejectMisuse(info.Env(), "lock.release(): not a lock made by lockFile()");
  auto* worker = new VoidWorker<VaultLock>(info.Env(), "litevault:lock.release", lock_, [](VaultLock& l) { return l.release(); });
  worker->KeepAlive(info.This().As<Napi::Object>());
  return worker->Start();
}

Napi::Value lockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) return rejectMisuse(env, "lockFile(path): path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) return rejectMisuse(env, "lockFile(path): bad path");
  return (new LockWorker(env, std::move(path)))->Start();
}

}  // namespace litevault
