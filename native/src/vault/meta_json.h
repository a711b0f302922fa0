// A manifest's meta (docs/vault-format.md "Manifest"): a strict JSON (RFC 8259) reader that
// checks the whole text and extracts the members the native side needs: pageSize, pageCount
// and packs[{key, bytes, slots}]. Every other member is skipped (TypeScript parses the meta
// itself). A member given twice counts with its last value, as JSON.parse does. Nesting is
// limited to 64 levels, so no input can exhaust the stack. No I/O.
//
// Thread safety: a plain function; call it from any thread.
#pragma once

#include <cstddef>
#include <string>

#include "vault/vault_format.h"

namespace litevault {

// False, with *what saying why ("meta: ..."), when text is not a JSON object with
// pageSize (a power of two 512..65536), pageCount (0..2^32-1) and packs (an array of objects
// with key: 32 hex digits, bytes and slots: integers, slots 1..2^32-1).
bool parseManifestMeta(const char* text, size_t n, ManifestMeta* out, std::string* what);

}  // namespace litevault
