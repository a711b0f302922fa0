// binding.WalFollower: the JavaScript handle on a WAL follower (wal/wal_follow.h; the contract:
// docs/replication.md and the binding notes, part A).
//
//   new binding.WalFollower(path, { busyTimeout })   opens a read-only Pager; no other I/O
//   follower.poll(position | null, firstTxid, recordedAt, maxBytes) -> Promise<PollResult>
//   follower.lockForTruncate(position, firstTxid, recordedAt, maxBytes) -> Promise<PollResult & { locked }>
//   follower.finishTruncate(apply) -> Promise<{ truncated, busy, salt1, salt2 }>
//   follower.close() -> Promise<void>   releases every lock and the pager; later calls: SQLITE_MISUSE
// All four run on the libuv threadpool. The pager joins the WAL on the first call that finds
// the database in WAL mode and keeps SHARED from then on (every WAL connection does); until
// then, and for a rollback or empty database, a poll holds nothing and says wal: false.
//
// Thread safety: FollowerWrap on the JavaScript (main) thread only; FollowerHandle's methods
// may be called from any thread, its mutex serializes them.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "pager/pager.h"
#include "wal/wal_follow.h"

namespace litevault {

class FollowerHandle {
 public:
  explicit FollowerHandle(std::unique_ptr<Pager> pager) : pager_(std::move(pager)) {}

  // *wal false: not a WAL database (nothing else in *out is meaningful). With `truncate`,
  // lockForTruncate: *locked says whether CKPT and WRITE stay held.
  Status poll(const FollowRequest& request, bool truncate, FollowResult* out, bool* wal, bool* locked);
  Status finishTruncate(bool apply, TruncateResult* out);
  void close();

 private:
  Status join(bool* wal);

  std::mutex mutex_;
  std::unique_ptr<Pager> pager_;          // guarded by mutex_; null once closed
  std::unique_ptr<WalFollower> follower_;  // guarded by mutex_; once the pager joined the WAL
};

class WalFollowerWrap : public Napi::ObjectWrap<WalFollowerWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit WalFollowerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value LockForTruncate(const Napi::CallbackInfo& info);
  Napi::Value FinishTruncate(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value StartPoll(const Napi::CallbackInfo& info, bool truncate);

  std::shared_ptr<FollowerHandle> handle_;
};

}  // namespace litevault
