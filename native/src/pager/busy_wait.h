// Waiting for a lock with a busy timeout, the way SQLite's default busy handler does
// (sqliteDefaultBusyCallback): retry after 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms,
// then every 100 ms, until the timeout is spent. Only SQLITE_BUSY is retried.
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
    if ((static_cast<int>(status.code()) & 0xff) != static_cast<int>(Code::kBusy) || waited >= timeoutMs) {
      return status;
    }
    int delay = kDelaysMs[i < 12 ? i : 11];
    if (waited + delay > timeoutMs) delay = timeoutMs - waited;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    waited += delay;
  }
}

}  // namespace litevault
