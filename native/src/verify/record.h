// SQLite's record format (fileformat2 §2.1; vdbe.c OP_Column): a varint header size, one varint
// serial type per column, then the column bodies in order. The checks are OP_Column's: the
// header size is at most 98307 and at most the payload; the serial types end exactly where the
// header says it ends; the bodies add up to the payload exactly (a header size of 0 is a record
// with no columns). integrity_check reads every row's right-most column, so a record failing
// these is corruption to SQLite too. Pure code: no I/O, safe to fuzz.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace litevault {

// Body bytes of a serial type (10 and 11, reserved, have none).
inline uint64_t serialTypeSize(uint64_t type) {
  static const uint8_t kSmall[12] = {0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0};
  return type < 12 ? kSmall[type] : (type - 12) / 2;
}

// Checks a record whose first `local` bytes are at `p` and whose payload has `payload` bytes.
// A header that does not fit in the local bytes is left unchecked (true). False with `error`.
bool checkRecordHeader(const uint8_t* p, uint32_t local, uint32_t payload, std::string* error);

struct RecordColumn {
  uint64_t type = 0;
  const uint8_t* data = nullptr;  // the body, as far as it is available
  uint32_t size = 0;              // bytes of the body available
  bool complete = false;          // the whole body is available
};
// Splits a record of `size` bytes, whose first `available` bytes are at `p`, into columns.
// False if it is malformed (its header must be available whole).
bool decodeRecord(const uint8_t* p, uint32_t available, uint32_t size, std::vector<RecordColumn>* out);
// An integer column's value (serial types 1..6, 8, 9); 0 for anything else.
int64_t columnInteger(const RecordColumn& column);
// A text column as ASCII (UTF-16 code units above 0x7f and NULs dropped): enough for the
// schema's type names and for spotting "WITHOUT ROWID" in its SQL.
std::string columnAscii(const RecordColumn& column, uint32_t textEncoding);

}  // namespace litevault
