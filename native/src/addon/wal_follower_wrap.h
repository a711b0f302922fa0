// binding.WalFollower: the JavaScript handle on a WAL follower (wal/wal_follow.h; the contract:
// docs/replication.md and the binding notes, part A).
//
//   new binding.WalFollower(path, { busyTimeout, holdTimeout? })   opens a read-only Pager; no other I/O
//   follower.poll(position | null, firstTxid, recordedAt, maxBytes) -> Promise<PollResult>
//   follower.lockForTruncate(position, firstTxid, recordedAt, maxBytes, hold)
//       -> Promise<PollResult & { locked, truncate: <finishTruncate's result> | null }>
//       (truncate: nothing was left to ship, the TRUNCATE ran in the same call, locked is false;
//       hold false: with transactions to ship the locks are released at once, as by poll)
//   follower.finishTruncate(apply) -> Promise<{ truncated, busy, salt1, salt2, frame, checksum }>
//       (frame 1 and its checksum: the seed frame of wal/wal_follow.h; 0 and null without one)
//   follower.close() -> Promise<void>   releases every lock and the pager; later calls: SQLITE_MISUSE
// All four run on the libuv threadpool. The pager joins the WAL on the first call that finds
// the database in WAL mode and keeps SHARED from then on (every WAL connection does); until
// then, and for a rollback or empty database, a poll holds nothing and says wal: false.
//
// The hold limit: locks that lockForTruncate returned held are released by the handle itself
// holdTimeout ms later (default: busyTimeout) if finishTruncate has not run by then, and that
// finishTruncate(true) is then busy. The JavaScript thread that would finish may be the one an
// application's synchronous SQLite connection in this process (better-sqlite3, node:sqlite) is
// blocking in its busy handler, waiting for our WRITE: without the limit the application would
// wait out its whole busy timeout and get SQLITE_BUSY.
//
// Thread safety: FollowerWrap on the JavaScript (main) thread only; FollowerHandle's methods
// may be called from any thread, its mutex serializes them; a hold's watchdog is a detached
// pthread that owns a reference to the handle and takes the same mutex.
#pragma once

#include <napi.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "pager/pager.h"
#include "wal/wal_follow.h"

namespace litevault {

class FollowerHandle : public std::enable_shared_from_this<FollowerHandle> {
 public:
  FollowerHandle(std::unique_ptr<Pager> pager, int holdTimeoutMs) : pager_(std::move(pager)), holdTimeoutMs_(holdTimeoutMs) {}

  // *wal false: not a WAL database (nothing else in *out is meaningful). With `truncate`,
  // lockForTruncate: *locked says whether CKPT and WRITE stay held (for holdTimeout at most),
  // *finished whether the TRUNCATE already ran, *truncate its result.
  Status poll(const FollowRequest& request, bool truncate, FollowResult* out, bool* wal, bool* locked, bool* finished,
              TruncateResult* truncateOut);
  Status finishTruncate(bool apply, TruncateResult* out);
  void close();

 private:
  Status join(bool* wal);
  // Starts the watchdog of hold `hold` (mutex_ held); false if no thread could be started.
  bool watch(uint64_t hold);
  // The watchdog's body: after holdTimeout, the release if the hold is still on.
  void expire(uint64_t hold, std::chrono::steady_clock::time_point deadline);

  std::mutex mutex_;
  std::unique_ptr<Pager> pager_;          // guarded by mutex_; null once closed
  std::unique_ptr<WalFollower> follower_;  // guarded by mutex_; once the pager joined the WAL
  const int holdTimeoutMs_;
  uint64_t hold_ = 0;    // guarded by mutex_: counts the holds lockForTruncate returned
  bool expired_ = false;  // guarded by mutex_: the last hold's locks were released by its watchdog
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
