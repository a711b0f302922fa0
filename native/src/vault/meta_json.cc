// The strict JSON reader for a manifest's meta; see meta_json.h.
#include "vault/meta_json.h"

#include <cstdint>

namespace litevault {
namespace {

constexpr int kMaxDepth = 64;
constexpr uint64_t kMaxSafeInteger = (uint64_t(1) << 53) - 1;  // what JSON.parse reads exactly

class Reader {
 public:
  Reader(const char* text, size_t n) : p_(text), end_(text + n) {}

  bool fail(const std::string& what) {
    if (error_.empty()) error_ = "meta: " + what;
    return false;
  }
  const std::string& error() const { return error_; }

  void skipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) p_++;
  }
  bool atEnd() {
    skipSpace();
    return p_ == end_;
  }
  bool consume(char c) {
    skipSpace();
    if (p_ < end_ && *p_ == c) {
      p_++;
      return true;
    }
    return false;
  }
  char peek() {
    skipSpace();
    return p_ < end_ ? *p_ : '\0';
  }

  // A string, decoded to UTF-8 (escapes and surrogate pairs resolved).
  bool string(std::string* out) {
    out->clear();
    if (!consume('"')) return fail("a string was expected");
    while (true) {
      if (p_ == end_) return fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20) return fail("a control character inside a string");
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (p_ == end_) return fail("unterminated string");
      const char e = *p_++;
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00 && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            uint32_t low = 0;
            if (!hex4(&low)) return false;
            if (low >= 0xdc00 && low < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            } else {
              p_ = save;  // a lone high surrogate, then another escape
            }
          }
          appendUtf8(cp, out);
          break;
        }
        default: return fail("a bad escape in a string");
      }
    }
  }

  // A number; *integer is set when it is a non-negative integer <= 2^53-1 written without
  // fraction or exponent.
  bool number(bool* isInteger, uint64_t* integer) {
    skipSpace();
    *isInteger = true;
    *integer = 0;
    if (p_ < end_ && *p_ == '-') {
      *isInteger = false;
      p_++;
    }
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return fail("a bad number");
    if (*p_ == '0') {
      p_++;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
        if (*integer > kMaxSafeInteger / 10) *isInteger = false;
        *integer = *integer * 10 + uint64_t(*p_ - '0');
        if (*integer > kMaxSafeInteger) *isInteger = false;
        p_++;
      }
    }
    if (p_ < end_ && *p_ == '.') {
      *isInteger = false;
      p_++;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return fail("a bad number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      *isInteger = false;
      p_++;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) p_++;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return fail("a bad number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
    }
    return true;
  }

  bool literal(const char* word) {
    skipSpace();
    for (const char* w = word; *w != '\0'; w++) {
      if (p_ == end_ || *p_ != *w) return fail("a bad literal");
      p_++;
    }
    return true;
  }

  // Any value, checked and thrown away.
  bool skipValue(int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    const char c = peek();
    if (c == '{') {
      p_++;
      if (consume('}')) return true;
      std::string name;
      do {
        if (!string(&name) || (!consume(':') && !fail("':' was expected"))) return false;
        if (!skipValue(depth + 1)) return false;
      } while (consume(','));
      return consume('}') || fail("'}' was expected");
    }
    if (c == '[') {
      p_++;
      if (consume(']')) return true;
      do {
        if (!skipValue(depth + 1)) return false;
      } while (consume(','));
      return consume(']') || fail("']' was expected");
    }
    if (c == '"') {
      std::string s;
      return string(&s);
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    bool isInteger;
    uint64_t v;
    return number(&isInteger, &v);
  }

  bool unsignedMember(const std::string& name, uint64_t max, uint64_t* out) {
    bool isInteger = false;
    uint64_t v = 0;
    if (peek() != '-' && (peek() < '0' || peek() > '9')) return fail(name + " is not a number");
    if (!number(&isInteger, &v)) return false;
    if (!isInteger || v > max) return fail(name + " is not an integer 0.." + std::to_string(max));
    *out = v;
    return true;
  }

  bool pack(ManifestPack* out, size_t index) {
    const std::string where = "packs[" + std::to_string(index) + "]";
    if (!consume('{')) return fail(where + " is not an object");
    bool haveKey = false, haveBytes = false, haveSlots = false;
    if (!consume('}')) {
      std::string name;
      do {
        if (!string(&name) || (!consume(':') && !fail("':' was expected"))) return false;
        if (name == "key") {
          std::string key;
          if (peek() != '"') return fail(where + ".key is not a string");
          if (!string(&key)) return false;
          if (!parseHash(key, &out->key)) return fail(where + ".key is not 32 hex digits");
          haveKey = true;
        } else if (name == "bytes") {
          if (!unsignedMember(where + ".bytes", kMaxSafeInteger, &out->bytes)) return false;
          haveBytes = true;
        } else if (name == "slots") {
          uint64_t slots = 0;
          if (!unsignedMember(where + ".slots", UINT32_MAX, &slots)) return false;
          if (slots == 0) return fail(where + ".slots is 0");
          out->slots = static_cast<uint32_t>(slots);
          haveSlots = true;
        } else if (!skipValue(2)) {
          return false;
        }
      } while (consume(','));
      if (!consume('}')) return fail("'}' was expected");
    }
    if (!haveKey || !haveBytes || !haveSlots) return fail(where + " lacks key, bytes or slots");
    return true;
  }

  bool meta(ManifestMeta* out) {
    if (!consume('{')) return fail("not a JSON object");
    bool havePageSize = false, havePageCount = false, havePacks = false;
    if (!consume('}')) {
      std::string name;
      do {
        if (!string(&name) || (!consume(':') && !fail("':' was expected"))) return false;
        if (name == "pageSize") {
          uint64_t v = 0;
          if (!unsignedMember("pageSize", 65536, &v)) return false;
          out->pageSize = static_cast<uint32_t>(v);
          if (!validPageSize(out->pageSize)) return fail("pageSize " + std::to_string(v) + " is not a power of two 512..65536");
          havePageSize = true;
        } else if (name == "pageCount") {
          uint64_t v = 0;
          if (!unsignedMember("pageCount", UINT32_MAX, &v)) return false;
          out->pageCount = static_cast<uint32_t>(v);
          havePageCount = true;
        } else if (name == "packs") {
          out->packs.clear();
          if (!consume('[')) return fail("packs is not an array");
          if (!consume(']')) {
            do {
              out->packs.emplace_back();
              if (!pack(&out->packs.back(), out->packs.size() - 1)) return false;
            } while (consume(','));
            if (!consume(']')) return fail("']' was expected");
          }
          havePacks = true;
        } else if (!skipValue(1)) {
          return false;
        }
      } while (consume(','));
      if (!consume('}')) return fail("'}' was expected");
    }
    if (!atEnd()) return fail("text after the JSON object");
    if (!havePageSize) return fail("no pageSize");
    if (!havePageCount) return fail("no pageCount");
    if (!havePacks) return fail("no packs");
    return true;
  }

 private:
  bool hex4(uint32_t* out) {
    if (end_ - p_ < 4) return fail("a bad \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
      const char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else return fail("a bad \\u escape");
    }
    *out = v;
    return true;
  }
  static void appendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  const char* p_;
  const char* const end_;
  std::string error_;
};

}  // namespace

bool parseManifestMeta(const char* text, size_t n, ManifestMeta* out, std::string* what) {
  *out = ManifestMeta();
  Reader reader(text, n);
  if (reader.meta(out)) return true;
  *what = reader.error().empty() ? "meta: malformed JSON" : reader.error();
  return false;
}

}  // namespace litevault
