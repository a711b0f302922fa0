// Log segment encode/decode; see log_segment.h.
#include "vault/log_segment.h"

#include <cstring>

#include "format/db_header.h"

namespace litevault {

const uint8_t kSegmentMagic[8] = {0x4c, 0x56, 0x53, 0x45, 0x47, 0x4d, 0x00, 0x01};  // LVSEGM\0\1

namespace {

Status corrupt(const std::string& label, const std::string& what) {
  return Status::error(Code::kVaultCorrupt, label + ": " + what);
}

std::string n2s(uint64_t v) { return std::to_string(v); }

// The header fields a writer and a reader both require; "" when fine.
std::string headerProblem(uint32_t pageSize, uint64_t firstTxid, uint64_t lastTxid) {
  if (!validPageSize(pageSize)) return "page size " + n2s(pageSize);
  if (firstTxid == 0 || firstTxid > lastTxid || lastTxid > kMaxTxid) {
    return "txids " + n2s(firstTxid) + ".." + n2s(lastTxid) + " (need 1 <= first <= last <= 2^53-1)";
  }
  return "";
}

}  // namespace

Status parseSegmentRecords(const uint8_t* records, size_t n, uint32_t pageSize, uint64_t firstTxid, uint64_t lastTxid,
                           const std::string& label, std::vector<SegmentRecord>* out) {
  out->clear();
  const uint32_t lockPage = lockBytePage(pageSize);
  const uint64_t entry = kSegmentPageNumberSize + uint64_t(pageSize);
  size_t at = 0;
  for (uint64_t txid = firstTxid;; txid++) {
    const std::string which = "record " + n2s(out->size()) + " (txid " + n2s(txid) + ")";
    const size_t left = n - at;
    if (left < kSegmentRecordHeaderSize) {
      return corrupt(label, left == 0 ? "the records end before txid " + n2s(txid) + " (the header says the last is " + n2s(lastTxid) + ")"
                                      : which + " is truncated (" + n2s(left) + " bytes left)");
    }
    const uint8_t* p = records + at;
    SegmentRecord r;
    r.txid = getLe64(p);
    r.recordedAt = static_cast<int64_t>(getLe64(p + 8));
    r.endFrame = getLe32(p + 16);
    r.pageCount = getLe32(p + 20);
    r.pages = getLe32(p + 24);
    if (r.txid != txid) return corrupt(label, "record " + n2s(out->size()) + " has txid " + n2s(r.txid) + ", expected " + n2s(txid));
    if (r.pageCount == 0) return corrupt(label, which + " has page count 0");
    if (r.pages == 0) return corrupt(label, which + " has no pages");
    if (uint64_t(r.pages) * entry > left - kSegmentRecordHeaderSize) {
      return corrupt(label, which + ": " + n2s(r.pages) + " pages of " + n2s(pageSize) + " bytes run past the end of the records");
    }
    r.offset = at + kSegmentRecordHeaderSize;
    uint32_t previous = 0;
    for (uint32_t i = 0; i < r.pages; i++) {
      const uint32_t page = segmentPageNumber(records, pageSize, r, i);
      if (page == 0) return corrupt(label, which + ": page entry " + n2s(i) + " names page 0");
      if (page <= previous) {
        return corrupt(label, which + ": page " + n2s(page) + " after page " + n2s(previous) + " (page numbers must increase)");
      }
      if (page == lockPage) return corrupt(label, which + ": page entry " + n2s(i) + " is the lock-byte page " + n2s(lockPage));
      previous = page;
    }
    at = r.offset + size_t(uint64_t(r.pages) * entry);
    out->push_back(r);
    if (txid == lastTxid) break;
  }
  if (at != n) return corrupt(label, n2s(n - at) + " bytes after the last record (txid " + n2s(lastTxid) + ")");
  return Status::ok();
}

Status decodeSegment(const uint8_t* data, size_t n, const Hash128& key, Decompressor* decompressor, DecodedSegment* out) {
  *out = DecodedSegment();
  const std::string label = "segment " + hexOf(key);
  if (n < kSegmentHeaderSize + kVaultChecksumSize) return corrupt(label, "truncated segment (" + n2s(n) + " bytes)");
  if (std::memcmp(data, kSegmentMagic, sizeof(kSegmentMagic)) != 0) return corrupt(label, "not a litevault log segment (bad magic)");
  const uint32_t version = getLe32(data + 8);
  if (version != kSegmentFormatVersion) {
    return Status::error(Code::kUnsupportedFormat, label + ": segment format version " + n2s(version) + " (this litevault reads version " +
                                                      n2s(kSegmentFormatVersion) + ")");
  }
  out->checksum = hash128(data, n - kVaultChecksumSize);
  if (std::memcmp(out->checksum.bytes, data + n - kVaultChecksumSize, kVaultChecksumSize) != 0) {
    return corrupt(label, "checksum mismatch (the segment is damaged or truncated)");
  }
  if (out->checksum != key) return corrupt(label, "the object's checksum " + hexOf(out->checksum) + " is not its key");
  SegmentHeader& h = out->header;
  h.pageSize = getLe32(data + 12);
  h.salt1 = getLe32(data + 16);
  h.salt2 = getLe32(data + 20);
  h.firstTxid = getLe64(data + 24);
  h.lastTxid = getLe64(data + 32);
  const uint32_t compression = getLe32(data + 40);
  const uint32_t reserved = getLe32(data + 44);
  h.payloadLength = getLe64(data + 48);
  const std::string problem = headerProblem(h.pageSize, h.firstTxid, h.lastTxid);
  if (!problem.empty()) return corrupt(label, problem);
  if (compression > 1) return corrupt(label, "unknown compression " + n2s(compression));
  h.compression = static_cast<PackCompression>(compression);
  if (reserved != 0) return corrupt(label, "reserved field " + n2s(reserved) + " (must be 0)");
  if (h.payloadLength != n - kSegmentHeaderSize - kVaultChecksumSize) {
    return corrupt(label, "payload length " + n2s(h.payloadLength) + " does not match the object's size");
  }
  const uint8_t* payload = data + kSegmentHeaderSize;
  const size_t payloadLength = size_t(h.payloadLength);
  if (h.compression == PackCompression::kNone) {
    if (h.payloadLength > kMaxSegmentRecordsBytes) return corrupt(label, "raw records of " + n2s(h.payloadLength) + " bytes (at most 512 MiB)");
    out->records = payload;
    out->recordsLength = payloadLength;
  } else {
    uint64_t declared = 0;
    Status status = Decompressor::frameContentSize(payload, payloadLength, &declared);
    if (status.isOk() && declared > kMaxSegmentRecordsBytes) {
      status = Status::error(Code::kVaultCorrupt, "the zstd frame declares " + n2s(declared) + " bytes (at most 512 MiB)");
    }
    if (status.isOk()) {
      out->decompressed.reset(new ByteBuffer(size_t(declared)));  // bounded above; nothing zero-filled
      status = decompressor->decompress(payload, payloadLength, out->decompressed->data(), size_t(declared));
    }
    if (!status.isOk()) {
      out->decompressed.reset();
      return status.code() == Code::kVaultCorrupt ? corrupt(label, status.message()) : status;
    }
    out->decompressed->setSize(size_t(declared));
    out->records = out->decompressed->data();
    out->recordsLength = size_t(declared);
  }
  return parseSegmentRecords(out->records, out->recordsLength, h.pageSize, h.firstTxid, h.lastTxid, label, &out->list);
}

Status encodeSegment(const SegmentEncodeOptions& options, const std::vector<std::pair<const uint8_t*, size_t>>& parts,
                     std::vector<uint8_t>* out, Hash128* key) {
  out->clear();
  const std::string problem = headerProblem(options.pageSize, options.firstTxid, options.lastTxid);
  if (!problem.empty()) return Status::error(Code::kMisuse, "log segment: " + problem);
  uint64_t total = 0;
  for (const auto& part : parts) total += part.second;
  if (total > kMaxSegmentRecordsBytes) return Status::error(Code::kMisuse, "log segment: " + n2s(total) + " bytes of records (at most 512 MiB)");
  // The records, contiguous (the follower hands them over in pieces), then checked as a reader would.
  std::unique_ptr<ByteBuffer> records(new ByteBuffer(size_t(total)));
  for (const auto& part : parts) {
    if (part.second != 0) records->append(part.first, part.second);
  }
  std::vector<SegmentRecord> list;
  Status parsed = parseSegmentRecords(records->data(), records->size(), options.pageSize, options.firstTxid, options.lastTxid, "the new segment", &list);
  if (!parsed.isOk()) return Status::error(Code::kMisuse, "cannot encode a log segment: " + parsed.message());

  PackCompression compression = PackCompression::kNone;
  size_t payloadLength = records->size();
  if (options.compress) {
    Compressor compressor;
    LV_RETURN_IF_ERROR(compressor.init(options.level));
    const size_t bound = Compressor::bound(records->size());
    out->resize(kSegmentHeaderSize + bound + kVaultChecksumSize);
    size_t written = 0;
    LV_RETURN_IF_ERROR(compressor.compress(records->data(), records->size(), out->data() + kSegmentHeaderSize, bound, &written));
    if (written < records->size()) {
      compression = PackCompression::kZstd;
      payloadLength = written;
    }
  }
  out->resize(kSegmentHeaderSize + payloadLength + kVaultChecksumSize);
  uint8_t* p = out->data();
  if (compression == PackCompression::kNone) std::memcpy(p + kSegmentHeaderSize, records->data(), payloadLength);
  std::memcpy(p, kSegmentMagic, sizeof(kSegmentMagic));
  putLe32(p + 8, kSegmentFormatVersion);
  putLe32(p + 12, options.pageSize);
  putLe32(p + 16, options.salt1);
  putLe32(p + 20, options.salt2);
  putLe64(p + 24, options.firstTxid);
  putLe64(p + 32, options.lastTxid);
  putLe32(p + 40, static_cast<uint32_t>(compression));
  putLe32(p + 44, 0);
  putLe64(p + 48, payloadLength);
  const size_t body = out->size() - kVaultChecksumSize;
  *key = hash128(p, body);
  std::memcpy(p + body, key->bytes, kVaultChecksumSize);

  // What a reader will see: the same records.
  Decompressor decompressor;
  DecodedSegment check;
  Status status = decodeSegment(out->data(), out->size(), *key, &decompressor, &check);
  if (status.isOk() && (check.recordsLength != records->size() || std::memcmp(check.records, records->data(), records->size()) != 0)) {
    status = Status::error(Code::kInternal, "the records read back differ");
  }
  if (!status.isOk()) {
    out->clear();
    return Status::error(status.code() == Code::kNoMem ? Code::kNoMem : Code::kInternal,
                         "a new log segment does not decode: " + status.message());
  }
  return Status::ok();
}

}  // namespace litevault
