// The environment cleanup hook's work; see env_handles.h.
#include "addon/env_handles.h"

#include <mutex>

#include "addon/wal_follower_wrap.h"

namespace litevault {

void EnvHandles::releaseAll() {
  for (auto& weak : backups_) {
    if (auto backup = weak.lock()) {
      if (!backup->finished()) backup->finish();  // rolls an unfinished destination back
    }
  }
  for (auto& weak : checkpoints_) {
    if (auto checkpoint = weak.lock()) checkpoint->finish();
  }
  for (auto& weak : scans_) {
    if (auto scan = weak.lock()) scan->close();  // ends its read transaction (waits for a step in flight)
  }
  for (auto& weak : restores_) {
    if (auto restore = weak.lock()) restore->abort();  // removes its temporary
  }
  for (auto& weak : locks_) {
    if (auto lock = weak.lock()) lock->release();
  }
  for (auto& weak : verifies_) {
    if (auto verify = weak.lock()) verify->cancel();  // a run in flight stops at its next chunk
  }
  for (auto& weak : readers_) {
    if (auto reader = weak.lock()) reader->end();  // waits for reads in flight, releases the snapshot
  }
  for (auto& weak : followers_) {
    if (auto follower = weak.lock()) follower->close();  // waits for a poll in flight
  }
  for (auto& weak : connections_) {
    auto connection = weak.lock();
    if (!connection) continue;
    connection->closed = true;
    std::lock_guard<std::mutex> guard(connection->mutex);
    // A backup of another environment may still use it (a handle passed between threads is
    // not possible today, but never pull a pager from under a backup).
    if (connection->backups.load() == 0) connection->pager.reset();  // ends transactions, releases locks
  }
  backups_.clear();
  checkpoints_.clear();
  connections_.clear();
  scans_.clear();
  restores_.clear();
  locks_.clear();
  verifies_.clear();
  readers_.clear();
  followers_.clear();
}

}  // namespace litevault
