#include "sweep/dataset_codec.h"

#include <cstdint>
#include <cstring>

#include "core/check.h"

namespace ldmg::sweep {

namespace {

constexpr char kMagic[] = "ldmg.dataset.v1";

void put_int(std::string& out, std::int64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& out, const std::string& s) {
  put_int(out, static_cast<std::int64_t>(s.size()));
  out += s;
}

class Reader {
 public:
  Reader(const std::string& b, std::size_t pos) : b_(b), pos_(pos) {}
  std::int64_t integer() {
    need(sizeof(std::int64_t));
    std::int64_t v = 0;
    std::memcpy(&v, b_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  int small_int() {
    const std::int64_t v = integer();
    LDMG_CHECK(v >= INT32_MIN && v <= INT32_MAX, "encoded dataset: {} does not fit an int", v);
    return static_cast<int>(v);
  }
  std::size_t count() {
    const std::int64_t n = integer();
    LDMG_CHECK(n >= 0 && static_cast<std::size_t>(n) <= b_.size() - pos_, "encoded dataset: a count of {} at byte {}",
               n, pos_);
    return static_cast<std::size_t>(n);
  }
  std::string str() {
    const std::size_t n = count();
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool at_end() const { return pos_ == b_.size(); }

 private:
  void need(std::size_t n) const {
    LDMG_CHECK(b_.size() - pos_ >= n, "encoded dataset: cut short at byte {} of {}", pos_, b_.size());
  }
  const std::string& b_;
  std::size_t pos_;
};

}  // namespace

std::string encode_dataset(const data::MsCxrDataset& dataset) {
  std::string out = kMagic;
  put_str(out, dataset.source());
  put_int(out, static_cast<std::int64_t>(dataset.size()));
  for (const data::Pair& p : dataset.pairs()) {
    put_int(out, p.index);
    for (const std::string* s : {&p.dicom_id, &p.category, &p.prompt, &p.path, &p.image_path, &p.split}) put_str(out, *s);
    put_int(out, static_cast<std::int64_t>(p.boxes.size()));
    for (const data::Box& b : p.boxes)
      for (int v : {b.x, b.y, b.w, b.h}) put_int(out, v);
    put_int(out, p.csv_width);
    put_int(out, p.csv_height);
    put_int(out, static_cast<std::int64_t>(p.rows.size()));
    for (int r : p.rows) put_int(out, r);
  }
  return out;
}

data::MsCxrDataset decode_dataset(const std::string& bytes) {
  const std::size_t magic = sizeof kMagic - 1;
  LDMG_CHECK(bytes.compare(0, magic, kMagic) == 0, "not an encoded dataset (no '{}' header)", kMagic);
  Reader r(bytes, magic);
  std::string source = r.str();
  std::vector<data::Pair> pairs(r.count());
  for (data::Pair& p : pairs) {
    p.index = r.small_int();
    for (std::string* s : {&p.dicom_id, &p.category, &p.prompt, &p.path, &p.image_path, &p.split}) *s = r.str();
    p.boxes.resize(r.count());
    for (data::Box& b : p.boxes)
      for (int* v : {&b.x, &b.y, &b.w, &b.h}) *v = r.small_int();
    p.csv_width = r.small_int();
    p.csv_height = r.small_int();
    p.rows.resize(r.count());
    for (int& row : p.rows) row = r.small_int();
  }
  LDMG_CHECK(r.at_end(), "encoded dataset: bytes after the last pair");
  return data::MsCxrDataset(std::move(source), std::move(pairs));
}

}  // namespace ldmg::sweep
