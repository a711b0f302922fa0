// The native half of vaults (native/src/vault/), as lib/vault/ calls it (lib/binding.ts: the
// Native* vault interfaces; docs/vault-format.md is the format):
//
//   binding.vaultDecodeManifest(bytes, label) -> {meta, runs, pages}   (sync: parse + checks)
//   binding.vaultEncodeManifest(meta, table) -> Buffer                 (sync)
//   binding.vaultHash(bytes) -> 32 hex                                  (sync)
//   new binding.VaultScan(db, {base, compression, level, threads, maxRestarts, busyTimeoutMs})
//       copies the base manifests; the first step decodes them and builds their state (threadpool);
//       scan.step(buffer) / scan.finish() / scan.close() -> Promise   (threadpool)
//   new binding.VaultRestore(tempPath, {chain, packs})   the plan, on the main thread (no I/O);
//       restore.packsNeeded, .pageCount, .pageSize;
//       restore.open() / writePack(link, pack, bytes) / finish() / abort() -> Promise (threadpool)
//       restore.applySegment(bytes, key, afterTxid, uptoTxid) -> Promise<{transactions, firstTxid,
//       lastTxid, pageCount}> (threadpool; after every writePack, before finish: vault_restore.h)
//   binding.lockFile(path) -> Promise<VaultLock>; lock.release() -> Promise (threadpool)
//
// Every handle is registered with the environment's EnvHandles, so a worker thread that ends
// closes its scans (ending their read transactions), aborts its restores (removing the
// temporary) and releases its locks. A pack handed out by step(buffer) is copied into the
// caller's buffer on the threadpool (of scan.maxPackBytes at least; the caller recycles it once
// stored, so its memory is bounded and never waits for a GC); a Buffer given to step or
// writePack is kept referenced while the threadpool writes or reads it.
//
// Thread safety: JavaScript (main) thread only; workers hold shared_ptrs to the native objects.
#pragma once

#include <napi.h>

#include <memory>

#include "vault/vault_lock.h"
#include "vault/vault_restore.h"
#include "vault/vault_scan.h"

namespace litevault {

class VaultScanWrap : public Napi::ObjectWrap<VaultScanWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit VaultScanWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<VaultScan> scan_;
  bool background_ = false;  // its jobs run at background priority (PromiseWorker::Background)
};

class VaultRestoreWrap : public Napi::ObjectWrap<VaultRestoreWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit VaultRestoreWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value PacksNeeded(const Napi::CallbackInfo& info);
  Napi::Value PageCount(const Napi::CallbackInfo& info);
  Napi::Value PageSize(const Napi::CallbackInfo& info);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value WritePack(const Napi::CallbackInfo& info);
  Napi::Value ApplySegment(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value OpenCheck(const Napi::CallbackInfo& info);
  Napi::Value PacksForCheck(const Napi::CallbackInfo& info);
  Napi::Value FinishCheck(const Napi::CallbackInfo& info);

  std::shared_ptr<VaultRestore> restore_;
  bool background_ = false;  // its jobs run at background priority (PromiseWorker::Background)
};

// What binding.lockFile resolves to: { release(): Promise<void> }. Made only by lockFile.
class VaultLockWrap : public Napi::ObjectWrap<VaultLockWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit VaultLockWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Release(const Napi::CallbackInfo& info);

  std::shared_ptr<VaultLock> lock_;
};

Napi::Value vaultDecodeManifest(const Napi::CallbackInfo& info);
Napi::Value vaultEncodeManifest(const Napi::CallbackInfo& info);
Napi::Value vaultHash(const Napi::CallbackInfo& info);
Napi::Value lockFile(const Napi::CallbackInfo& info);

}  // namespace litevault
