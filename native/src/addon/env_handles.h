// EnvHandles: every native handle an environment (the main thread, or one worker thread) made,
// so that its cleanup hook can release them when the environment ends (design.md "Threads").
//
// A worker thread that ends, or is terminated, mid-backup must not leave a destination write
// transaction, a pinned snapshot or the checkpoint lock behind: garbage collection may never
// run for its objects, and a step in flight keeps its Backup alive past the environment. The
// hook (registered in addon.cc) finishes every unfinished Backup (rolling its destination
// back) and Checkpoint, closes every VaultScan (ending its read transaction), aborts every
// VaultRestore (removing its temporary), releases every VaultLock, cancels every DatabaseVerify,
// ends every ImageReader (a backup stream's snapshot), closes every WalFollower (its truncate
// locks and its pager), then closes every Connection
// no backup uses any more. Finishing waits
// for a step in flight (the handles' own mutexes); later calls on the handles see "finished"
// or a closed connection and do nothing.
//
// Thread safety: main thread of its environment only (handles are registered by constructors
// and open()'s completion, and the hook runs there). Entries are weak: nothing here keeps a
// handle alive.
#pragma once

#include <memory>
#include <vector>

#include "backup/backup.h"
#include "backup/image_reader.h"
#include "backup/verify_database.h"
#include "checkpoint/checkpoint.h"
#include "pager/connection.h"
#include "vault/vault_lock.h"
#include "vault/vault_restore.h"
#include "vault/vault_scan.h"

namespace litevault {

class FollowerHandle;  // addon/wal_follower_wrap.h

class EnvHandles {
 public:
  void add(const std::shared_ptr<Backup>& backup) { prune(backups_).push_back(backup); }
  void add(const std::shared_ptr<Checkpoint>& checkpoint) { prune(checkpoints_).push_back(checkpoint); }
  void add(const std::shared_ptr<Connection>& connection) { prune(connections_).push_back(connection); }
  void add(const std::shared_ptr<VaultScan>& scan) { prune(scans_).push_back(scan); }
  void add(const std::shared_ptr<VaultRestore>& restore) { prune(restores_).push_back(restore); }
  void add(const std::shared_ptr<VaultLock>& lock) { prune(locks_).push_back(lock); }
  void add(const std::shared_ptr<DatabaseVerify>& verify) { prune(verifies_).push_back(verify); }
  void add(const std::shared_ptr<ImageReader>& reader) { prune(readers_).push_back(reader); }
  void add(const std::shared_ptr<FollowerHandle>& follower) { prune(followers_).push_back(follower); }
  // The cleanup hook: finishes backups and checkpoints, closes scans, aborts restores, releases
  // vault locks, then closes connections.
  void releaseAll();

 private:
  template <typename T>
  static std::vector<std::weak_ptr<T>>& prune(std::vector<std::weak_ptr<T>>& list) {
    if (list.size() >= 64 && list.size() % 64 == 0) {  // amortized: drop handles already gone
      std::vector<std::weak_ptr<T>> live;
      for (auto& w : list) if (!w.expired()) live.push_back(w);
      list.swap(live);
    }
    return list;
  }
  std::vector<std::weak_ptr<Backup>> backups_;
  std::vector<std::weak_ptr<Checkpoint>> checkpoints_;
  std::vector<std::weak_ptr<Connection>> connections_;
  std::vector<std::weak_ptr<VaultScan>> scans_;
  std::vector<std::weak_ptr<VaultRestore>> restores_;
  std::vector<std::weak_ptr<VaultLock>> locks_;
  std::vector<std::weak_ptr<DatabaseVerify>> verifies_;
  std::vector<std::weak_ptr<ImageReader>> readers_;
  std::vector<std::weak_ptr<FollowerHandle>> followers_;
};

}  // namespace litevault
