// The module entry: registers the addon's functions. Only this layer (native/src/addon/) includes
// Node headers; everything below is plain C++17. The test hooks (addon/testing.h) are registered
// only by the test build (LITEVAULT_TESTING).
#include <napi.h>

#include "addon/backup_wrap.h"
#include "addon/checkpoint_wrap.h"
#include "addon/database_wrap.h"
#include "addon/errors.h"
#include "addon/image_reader_wrap.h"
#include "addon/inspect_worker.h"
#include "addon/log_segment_wrap.h"
#include "addon/testing.h"
#include "addon/vault_wrap.h"
#include "addon/verify_wrap.h"
#include "addon/wal_follower_wrap.h"

namespace {

using namespace litevault;

Napi::Object InitLitevault(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  env.AddCleanupHook([data] { data->handles.releaseAll(); });  // a worker thread or the process ends
  Napi::Function database = DatabaseWrap::Define(env);
  data->databaseClass = Napi::Persistent(database);
  exports.Set("Database", database);
  exports.Set("Backup", BackupWrap::Define(env));
  exports.Set("Checkpoint", CheckpointWrap::Define(env));
  exports.Set("open", Napi::Function::New(env, openDatabase, "open"));
  exports.Set("publish", Napi::Function::New(env, publishFile, "publish"));
  exports.Set("setErrorClass", Napi::Function::New(env, setErrorClass, "setErrorClass"));
  exports.Set("inspect", Napi::Function::New(env, inspect, "inspect"));
  exports.Set("Verify", VerifyWrap::Define(env));  // addon/verify_wrap.h
  exports.Set("ImageReader", ImageReaderWrap::Define(env));  // addon/image_reader_wrap.h
  // Vaults (addon/vault_wrap.h).
  Napi::Function vaultLock = VaultLockWrap::Define(env);
  data->vaultLockClass = Napi::Persistent(vaultLock);
  exports.Set("VaultScan", VaultScanWrap::Define(env));
  exports.Set("VaultRestore", VaultRestoreWrap::Define(env));
  exports.Set("vaultDecodeManifest", Napi::Function::New(env, vaultDecodeManifest, "vaultDecodeManifest"));
  exports.Set("vaultEncodeManifest", Napi::Function::New(env, vaultEncodeManifest, "vaultEncodeManifest"));
  exports.Set("vaultHash", Napi::Function::New(env, vaultHash, "vaultHash"));
  exports.Set("WalFollower", WalFollowerWrap::Define(env));  // addon/wal_follower_wrap.h
  exports.Set("lockFile", Napi::Function::New(env, lockFile, "lockFile"));
  // Log segments (addon/log_segment_wrap.h).
  exports.Set("encodeLogSegment", Napi::Function::New(env, encodeLogSegment, "encodeLogSegment"));
  exports.Set("inspectLogSegment", Napi::Function::New(env, inspectLogSegment, "inspectLogSegment"));
#if defined(LITEVAULT_TESTING)
  registerTestHooks(env, exports);  // the test build only: fault plans and sync points
#endif
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(litevault, InitLitevault)
