// Waiting for a lock with a busy timeout, the way SQLite's default busy handler does
// (sqliteDefaultBusyCallback): retry after 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms,
// then every 100 ms, until the timeout is spent. SQLITE_BUSY and SQLITE_BUSY_RECOVERY are
// retried; SQLITE_BUSY_SNAPSHOT is not (waiting cannot help: the caller needs a new snapshot).
//
// Thread safety: runs on the calling (threadpool) thread; it sleeps that thread.
#pragma once

#include <chrono>
#include <thread>

#include "base/status.h"

namespace litevault {

template <typename Attempt>
Status retryWhileBusy(int timeoutMs, Attempt attempt) {
  static const int kDelaysMs[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  int waited = 0;
  for (int i = 0;; i++) {
    Status status = attempt();
    const bool busy = status.code() == Code::kBusy || status.code() == Code::kBusyRecovery;
    if (!busy || waited >= timeoutMs) {
      return status;
    }
    int delay = kDelaysMs[i < 12 ? i : 11];
    if (waited + delay > timeoutMs) delay = timeoutMs - waited;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    waited += delay;
  }
}

}  // namespace litevault
