#include "io/pickle_writer.h"

namespace ldmg::io {

namespace {
void put_le(std::string& s, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

PickleWriter::PickleWriter() { out_ = "\x80\x02"; }

void PickleWriter::global(std::string_view module, std::string_view name) {
  out_ += 'c';
  out_.append(module);
  out_ += '\n';
  out_.append(name);
  out_ += '\n';
}

void PickleWriter::put(std::uint32_t key) {
  if (key < 256) {
    out_ += 'q';
    put_le(out_, key, 1);
  } else {
    out_ += 'r';
    put_le(out_, key, 4);
  }
}

void PickleWriter::get(std::uint32_t key) {
  if (key < 256) {
    out_ += 'h';
    put_le(out_, key, 1);
  } else {
    out_ += 'j';
    put_le(out_, key, 4);
  }
}

void PickleWriter::integer(std::int64_t v) {
  if (v >= 0 && v < 256) {
    out_ += 'K';
    put_le(out_, static_cast<std::uint64_t>(v), 1);
  } else if (v >= 0 && v < 65536) {
    out_ += 'M';
    put_le(out_, static_cast<std::uint64_t>(v), 2);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    out_ += 'J';
    put_le(out_, static_cast<std::uint32_t>(static_cast<std::int32_t>(v)), 4);
  } else {  // LONG1 with 8 two's-complement bytes
    out_ += '\x8a';
    out_ += '\x08';
    put_le(out_, static_cast<std::uint64_t>(v), 8);
  }
}

void PickleWriter::unicode(std::string_view s) {
  out_ += 'X';
  put_le(out_, s.size(), 4);
  out_.append(s);
}

void PickleWriter::boolean(bool v) { out_ += v ? '\x88' : '\x89'; }
void PickleWriter::none() { out_ += 'N'; }
void PickleWriter::mark() { out_ += '('; }
void PickleWriter::tuple() { out_ += 't'; }
void PickleWriter::empty_tuple() { out_ += ')'; }
void PickleWriter::reduce() { out_ += 'R'; }
void PickleWriter::binpersid() { out_ += 'Q'; }
void PickleWriter::setitems() { out_ += 'u'; }

std::string PickleWriter::stop() {
  out_ += '.';
  return std::move(out_);
}

}  // namespace ldmg::io
