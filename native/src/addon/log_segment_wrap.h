// The native half of log segments (native/src/vault/log_segment.h; docs/vault-format.md "Logs"),
// as lib/ calls it (lib/binding.ts):
//
//   binding.encodeLogSegment(header, records: Buffer[]) -> Promise<{data, key}>
//       header {pageSize, salt1, salt2, firstTxid, lastTxid, compression: 'zstd'|'none', level};
//       the records are checked as a reader checks them, then compressed (unless that is not
//       smaller) and checksummed; key = the 32 hex of the trailer.
//   binding.inspectLogSegment(data, key) -> Promise<{pageSize, salt1, salt2, firstTxid,
//       lastTxid, compression, records: {txid, recordedAt, endFrame, pageCount, pages}[]}>
//       verifies everything a reader checks; LITEVAULT_VAULT_CORRUPT "segment <key>: <what>".
// (restore.applySegment, the apply path, is VaultRestoreWrap's: addon/vault_wrap.h.)
//
// Both run on the threadpool (promise_worker.h); arguments are checked on the main thread, and
// every Buffer given is kept referenced until the call settles. Txids are JavaScript numbers:
// integers 1..2^53-1.
//
// Thread safety: JavaScript (main) thread only.
#pragma once

#include <napi.h>

namespace litevault {

Napi::Value encodeLogSegment(const Napi::CallbackInfo& info);
Napi::Value inspectLogSegment(const Napi::CallbackInfo& info);

}  // namespace litevault
