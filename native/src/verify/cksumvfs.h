// SQLite's cksumvfs page checksums (ext/misc/cksumvfs.c): a database whose header says 8
// reserved bytes per page (byte 20) keeps, in the last 8 bytes of every page, a checksum of the
// page's other bytes: two 32-bit sums s1, s2 run over the content read as native-order 32-bit
// words two at a time (s1 += w0 + s2; s2 += w1 + s1; the WAL checksum's recurrence), stored as
// the bytes of s1 then s2 in little-endian order (cksumvfs memcpy's its native integers, and
// converts on big-endian hosts, so the stored bytes are the same everywhere).
// Pure code: no I/O, safe to fuzz.
#pragma once

#include <cstdint>

namespace litevault {

constexpr uint32_t kCksumvfsReserve = 8;

// The checksum of a page's first pageSize-8 bytes.
void cksumvfsCompute(const uint8_t* page, uint32_t pageSize, uint8_t out[8]);
// Whether the page's last 8 bytes hold its checksum.
bool cksumvfsMatches(const uint8_t* page, uint32_t pageSize);

// Page 1 of a copy (backup, vault scan, backup stream): bytes 28..31 set to `pageCount`, as
// backupOnePage does; a page 1 that carried a valid cksumvfs checksum is stamped again, so the
// copy stays readable through cksumvfs. Returns whether page 1 was a cksumvfs page (the copier
// then stamps it again after any later header change too).
bool setCopyPageCount(uint8_t* page1, uint32_t pageSize, uint32_t pageCount);

}  // namespace litevault
