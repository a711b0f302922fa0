// SQLite's record format; see record.h.
#include "verify/record.h"

#include <algorithm>

#include "format/varint.h"

namespace litevault {
namespace {

constexpr uint64_t kRunsPast = ~uint64_t(0);

// The serial types of a record header of `headerSize` bytes at `p`, after its own `n`-byte size
// varint: calls column(type, offset, body) for each, where its body starts at `offset` of the
// record, until the bodies would pass `limit`. Returns where the bodies end (past `limit` when
// they do not fit), or kRunsPast when a serial type runs past the header's end.
template <typename Column>
uint64_t walkSerialTypes(const uint8_t* p, uint32_t n, uint64_t headerSize, uint64_t limit, Column column) {
  const uint8_t* at = p + n;
  const uint8_t* headerEnd = p + headerSize;
  uint64_t offset = headerSize;
  while (at < headerEnd) {
    uint64_t type = 0;
    const uint32_t len = getVarint(at, headerEnd, &type);
    if (len == 0) return kRunsPast;
    at += len;
    const uint64_t body = serialTypeSize(type);
    if (offset + body > limit) return offset + body;
    column(type, offset, body);
    offset += body;
  }
  return offset;
}

}  // namespace

bool checkRecordHeader(const uint8_t* p, uint32_t local, uint32_t payload, std::string* error) {
  uint64_t headerSize = 0;
  const uint32_t n = getVarint(p, p + local, &headerSize);
  if (n == 0) return true;  // the header continues on an overflow page
  if (headerSize == 0) return true;  // OP_Column: a record with no columns
  if (headerSize > 98307 || headerSize > payload) {
    *error = "record header size " + std::to_string(headerSize) + " exceeds the payload (" + std::to_string(payload) +
             " bytes)";
    return false;
  }
  if (headerSize > local) return true;
  if (headerSize < n) {
    *error = "record header size " + std::to_string(headerSize) + " is shorter than its own varint";
    return false;
  }
  const uint64_t bodies = walkSerialTypes(p, n, headerSize, payload, [](uint64_t, uint64_t, uint64_t) {});
  if (bodies == kRunsPast) {
    *error = "record header: a serial type runs past the header's end";
    return false;
  }
  if (bodies != payload) {
    *error = "record header: the columns add up to " + std::to_string(bodies) + " bytes, the payload is " +
             std::to_string(payload);
    return false;
  }
  return true;
}

bool decodeRecord(const uint8_t* p, uint32_t available, uint32_t size, std::vector<RecordColumn>* out) {
  out->clear();
  if (available > size) return false;
  uint64_t headerSize = 0;
  const uint32_t n = getVarint(p, p + available, &headerSize);
  if (n == 0 || headerSize > available || (headerSize != 0 && headerSize < n)) return false;
  if (headerSize == 0) return true;  // no columns
  const uint64_t end = walkSerialTypes(p, n, headerSize, size, [&](uint64_t type, uint64_t offset, uint64_t body) {
    RecordColumn column;
    column.type = type;
    column.data = p + std::min<uint64_t>(offset, available);
    column.size = static_cast<uint32_t>(std::min<uint64_t>(body, offset >= available ? 0 : available - offset));
    column.complete = offset + body <= available;
    out->push_back(column);
  });
  return end == size;
}

int64_t columnInteger(const RecordColumn& c) {
  if (c.type == 8) return 0;
  if (c.type == 9) return 1;
  if (c.type < 1 || c.type > 6 || !c.complete) return 0;
  uint64_t v = (c.data[0] & 0x80) ? ~uint64_t(0) : 0;  // sign-extended big-endian
  for (uint32_t i = 0; i < c.size; i++) v = (v << 8) | c.data[i];
  return static_cast<int64_t>(v);
}

std::string columnAscii(const RecordColumn& c, uint32_t textEncoding) {
  std::string s;
  if (c.type < 13 || (c.type & 1) == 0) return s;  // not text
  if (textEncoding == 2 || textEncoding == 3) {
    const uint32_t lowByte = textEncoding == 2 ? 0 : 1;
    for (uint32_t i = 0; i + 1 < c.size; i += 2) {
      const uint8_t lo = c.data[i + lowByte], hi = c.data[i + 1 - lowByte];
      if (hi == 0 && lo != 0 && lo < 0x80) s.push_back(static_cast<char>(lo));
    }
  } else {
    for (uint32_t i = 0; i < c.size; i++) {
      if (c.data[i] != 0 && c.data[i] < 0x80) s.push_back(static_cast<char>(c.data[i]));
    }
  }
  return s;
}

}  // namespace litevault
