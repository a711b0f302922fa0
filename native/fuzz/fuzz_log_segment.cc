// libFuzzer target: log segments (vault/log_segment: decodeSegment, parseSegmentRecords,
// encodeSegment; vault/compress: frameContentSize and bounded decompression).
//
// The input is a whole segment object. It is checked twice: as it is (key = its last 16 bytes),
// and with its last 16 bytes replaced by the correct checksum (so mutations get past the
// checksum and reach the header, zstd and record checks). Its bytes after the 56-byte header are
// also parsed directly as records of 512-byte pages. Properties:
//   1. decodeSegment returns ok, LITEVAULT_VAULT_CORRUPT or LITEVAULT_UNSUPPORTED_FORMAT
//      (unknown version only), never anything else, with a message naming "segment <key>: ";
//   2. a decoded segment satisfies what the decoder promises (one record per txid first..last,
//      k >= 1 pages, page numbers strictly increasing, >= 1, never the lock-byte page, every
//      image inside the records, pageCount >= 1, valid page size);
//   3. encoding its records again (raw, and zstd) gives a segment that decodes to the same
//      records; a raw input re-encodes raw to exactly the input bytes;
//   4. parseSegmentRecords on arbitrary bytes returns ok or LITEVAULT_VAULT_CORRUPT only.
#include <cstring>

#include "format/db_header.h"
#include "fuzz_common.h"
#include "vault/log_segment.h"

using namespace litevault;

namespace {

void checkDecoded(const DecodedSegment& s, const uint8_t* data, size_t size) {
  const SegmentHeader& h = s.header;
  FUZZ_CHECK(validPageSize(h.pageSize));
  FUZZ_CHECK(h.firstTxid >= 1 && h.firstTxid <= h.lastTxid && h.lastTxid <= kMaxTxid);
  FUZZ_CHECK(s.list.size() == h.lastTxid - h.firstTxid + 1);
  FUZZ_CHECK(s.recordsLength <= kMaxSegmentRecordsBytes);
  const uint32_t lockPage = lockBytePage(h.pageSize);
  size_t end = 0;
  for (size_t i = 0; i < s.list.size(); i++) {
    const SegmentRecord& r = s.list[i];
    FUZZ_CHECK(r.txid == h.firstTxid + i && r.pageCount >= 1 && r.pages >= 1);
    FUZZ_CHECK(r.offset == end + kSegmentRecordHeaderSize);
    uint32_t previous = 0;
    for (uint32_t e = 0; e < r.pages; e++) {
      const uint32_t page = segmentPageNumber(s.records, h.pageSize, r, e);
      FUZZ_CHECK(page > previous && page != lockPage);
      const uint8_t* image = segmentPageImage(s.records, h.pageSize, r, e);
      FUZZ_CHECK(image + h.pageSize <= s.records + s.recordsLength);
      previous = page;
    }
    end = r.offset + size_t(r.pages) * (kSegmentPageNumberSize + h.pageSize);
  }
  FUZZ_CHECK(end == s.recordsLength);

  // 3. encode again.
  SegmentEncodeOptions options;
  options.pageSize = h.pageSize;
  options.salt1 = h.salt1;
  options.salt2 = h.salt2;
  options.firstTxid = h.firstTxid;
  options.lastTxid = h.lastTxid;
  if (s.recordsLength > (size_t(4) << 20)) return;  // keep each input cheap
  for (const bool compress : {false, true}) {
    options.compress = compress;
    options.level = 1;
    std::vector<uint8_t> again;
    Hash128 key;
    Status status = encodeSegment(options, {{s.records, s.recordsLength}}, &again, &key);
    fuzz::checkStatus(status);
    FUZZ_CHECK(status.isOk());
    if (!compress && h.compression == PackCompression::kNone) FUZZ_CHECK(again.size() == size && std::memcmp(again.data(), data, size) == 0);
    Decompressor decompressor;
    DecodedSegment back;
    FUZZ_CHECK(decodeSegment(again.data(), again.size(), key, &decompressor, &back).isOk());
    FUZZ_CHECK(back.recordsLength == s.recordsLength && std::memcmp(back.records, s.records, s.recordsLength) == 0);
    FUZZ_CHECK(back.list.size() == s.list.size());
  }
}

void checkSegment(const uint8_t* data, size_t size) {
  Hash128 key;
  if (size >= kVaultChecksumSize) std::memcpy(key.bytes, data + size - kVaultChecksumSize, kVaultChecksumSize);
  Decompressor decompressor;
  DecodedSegment s;
  Status status = decodeSegment(data, size, key, &decompressor, &s);
  fuzz::checkStatus(status);
  if (!status.isOk()) {
    FUZZ_CHECK(status.code() == Code::kVaultCorrupt || status.code() == Code::kUnsupportedFormat);
    FUZZ_CHECK(status.message().rfind("segment " + hexOf(key) + ": ", 0) == 0);
    if (status.code() == Code::kUnsupportedFormat) FUZZ_CHECK(size >= 12 && getLe32(data + 8) != kSegmentFormatVersion);
    return;
  }
  checkDecoded(s, data, size);
}

void checkRecords(const uint8_t* data, size_t size) {
  if (size < 8) return;
  const uint64_t first = getLe64(data);
  const uint64_t last = first + (size % 5);
  std::vector<SegmentRecord> list;
  Status status = parseSegmentRecords(data, size, 512, first, last < first ? first : last, "fuzz.records", &list);
  fuzz::checkStatus(status);
  if (!status.isOk()) FUZZ_CHECK(status.code() == Code::kVaultCorrupt && status.message().rfind("fuzz.records: ", 0) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  checkSegment(data, size);
  if (size >= kVaultChecksumSize) {
    std::vector<uint8_t> fixed(data, data + size);
    const Hash128 sum = hash128(fixed.data(), size - kVaultChecksumSize);
    std::memcpy(fixed.data() + size - kVaultChecksumSize, sum.bytes, kVaultChecksumSize);
    checkSegment(fixed.data(), fixed.size());
  }
  if (size > kSegmentHeaderSize) checkRecords(data + kSegmentHeaderSize, size - kSegmentHeaderSize);
  return 0;
}
