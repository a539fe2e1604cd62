#include "pipeline/prediction_reader.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/check.h"
#include "data/csv.h"
#include "io/hdf5_file.h"
#include "io/npy.h"

namespace ldmg::pipeline {

namespace fs = std::filesystem;

const char* to_string(PredictionFormat f) {
  switch (f) {
    case PredictionFormat::h5:
      return "h5";
    case PredictionFormat::npy:
      return "npy";
    case PredictionFormat::boxes:
      return "boxes";
  }
  return "?";
}

PredictionFormat parse_prediction_format(const std::string& name, const std::string& path) {
  if (name == "h5") return PredictionFormat::h5;
  if (name == "npy") return PredictionFormat::npy;
  if (name == "boxes") return PredictionFormat::boxes;
  LDMG_CHECK(name == "auto", "--format '{}': expected auto, h5, npy or boxes", name);
  if (fs::is_directory(path)) return PredictionFormat::npy;
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".h5" || ext == ".hdf5" || ext == ".hdf") return PredictionFormat::h5;
  if (ext == ".csv") return PredictionFormat::boxes;
  LDMG_FAIL(
      "predictions '{}': cannot tell the format (a folder of <pair>.npy, a .h5/.hdf5 file or a .csv of boxes); "
      "give --format h5|npy|boxes",
      path);
}

namespace {

// [1,..,1,H,W] -> {H, W}; anything else is an error naming `origin`.
std::pair<std::int64_t, std::int64_t> map_shape(const std::vector<std::int64_t>& shape, const std::string& origin) {
  std::vector<std::int64_t> s = shape;
  while (s.size() > 2 && s.front() == 1) s.erase(s.begin());
  LDMG_CHECK(s.size() == 2 && s[0] > 0 && s[1] > 0,
             "{}: shape [{}] is not a 2-D map (expected [H, W], leading dimensions of size 1 allowed)", origin,
             fmt::join(shape, ", "));
  return {s[0], s[1]};
}

// +-inf is an error; NaN is "no value".
void check_values(const Prediction& p) {
  for (std::size_t i = 0; i < p.values.size(); ++i)
    LDMG_CHECK(!std::isinf(p.values[i]),
               "{}: value at (row {}, column {}) is {}; expected finite values (NaN = no value)", p.origin,
               static_cast<std::int64_t>(i) / p.width, static_cast<std::int64_t>(i) % p.width, p.values[i]);
}

class H5Predictions final : public PredictionReader {
 public:
  H5Predictions(const std::string& path, std::string group)
      : path_(path), group_(std::move(group)), file_(io::h5::File::open(path)) {
    if (group_.empty() || group_.front() != '/') group_ = "/" + group_;
    while (group_.size() > 1 && group_.back() == '/') group_.pop_back();
    LDMG_CHECK(file_.kind(group_) == io::h5::ObjectKind::group,
               "predictions '{}': no group '{}' (expected {}/<pair>/heatmap or .../heatmap_512; see --h5-group)", path_,
               group_, group_);
  }
  PredictionFormat format() const override { return PredictionFormat::h5; }
  const std::string& path() const override { return path_; }

  Prediction read(int pair) const override {
    const std::string base = group_ + "/" + std::to_string(pair);
    LDMG_CHECK(file_.kind(base) == io::h5::ObjectKind::group,
               "predictions '{}': no prediction for pair {} (group '{}' is missing)", path_, pair, base);
    const bool plain = file_.kind(base + "/heatmap") == io::h5::ObjectKind::dataset;
    const bool grid = file_.kind(base + "/heatmap_512") == io::h5::ObjectKind::dataset;
    LDMG_CHECK(plain || grid, "predictions '{}' pair {}: field '{}/heatmap' (or heatmap_512) is missing", path_, pair,
               base);
    LDMG_CHECK(!(plain && grid), "predictions '{}' pair {}: both '{}/heatmap' and '{}/heatmap_512' exist; keep one",
               path_, pair, base, base);
    const std::string name = base + (plain ? "/heatmap" : "/heatmap_512");
    Prediction p;
    p.origin = fmt::format("predictions '{}' pair {} field '{}'", path_, pair, name);
    const io::h5::Dataset d = file_.open_dataset(name);
    const io::h5::ElemType t = d.type();
    LDMG_CHECK(t == io::h5::ElemType::f32 || t == io::h5::ElemType::f16 || t == io::h5::ElemType::f64,
               "{}: element type {}, expected a float type (float16, float32, float64)", p.origin,
               io::h5::to_string(t));
    std::tie(p.height, p.width) = map_shape(d.shape(), p.origin);
    p.values = d.read_floats();
    if (grid && d.has_attr("otsu_threshold")) p.thresholded = std::isfinite(d.double_attr("otsu_threshold"));
    check_values(p);
    return p;
  }

 private:
  std::string path_, group_;
  io::h5::File file_;
};

std::vector<float> npy_floats(const io::NpyArray& a, const std::string& origin) {
  const std::int64_t n = a.numel();
  std::vector<float> out(static_cast<std::size_t>(n));
  switch (a.dtype) {
    case io::DType::F32:
      return a.values<float>();
    case io::DType::F64: {
      const auto v = a.values<double>();
      for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(v[i]);
      return out;
    }
    case io::DType::F16: {
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t bits;
        std::memcpy(&bits, a.bytes.data() + 2 * i, 2);
        out[i] = io::h5::half_to_float(bits);
      }
      return out;
    }
    default:
      LDMG_FAIL("{}: dtype {}, expected a float dtype (<f2, <f4, <f8)", origin, io::dtype_name(a.dtype));
  }
}

class NpyPredictions final : public PredictionReader {
 public:
  explicit NpyPredictions(const std::string& dir) : dir_(dir) {
    LDMG_CHECK(fs::is_directory(dir_), "predictions '{}' is not a folder (expected <pair>.npy files in it)", dir_);
  }
  PredictionFormat format() const override { return PredictionFormat::npy; }
  const std::string& path() const override { return dir_; }

  Prediction read(int pair) const override {
    const std::string file = (fs::path(dir_) / (std::to_string(pair) + ".npy")).string();
    LDMG_CHECK(fs::is_regular_file(file), "predictions '{}': no prediction for pair {} ('{}' does not exist)", dir_,
               pair, file);
    Prediction p;
    p.origin = fmt::format("predictions '{}' pair {} field 'heatmap'", file, pair);
    const io::NpyArray a = io::read_npy(file);
    std::tie(p.height, p.width) = map_shape(a.shape, p.origin);
    p.values = npy_floats(a, p.origin);
    check_values(p);
    return p;
  }

 private:
  std::string dir_;
};

double parse_number(const std::string& text, const std::string& where, const char* field) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = text.empty() ? 0.0 : std::strtod(begin, &end);
  LDMG_CHECK(!text.empty() && end == begin + text.size() && std::isfinite(v),
             "{}: field '{}' is '{}', expected a finite number", where, field, text);
  return v;
}

class BoxPredictions final : public PredictionReader {
 public:
  BoxPredictions(const std::string& path, const std::vector<int>& known) : path_(path) {
    const data::CsvTable t = data::read_csv(path);
    const char* names[] = {"pair", "x", "y", "w", "h", "score"};
    int col[6];
    for (int k = 0; k < 6; ++k) {
      col[k] = t.column(names[k]);
      LDMG_CHECK(col[k] >= 0, "predictions '{}': no column '{}' (header must hold pair,x,y,w,h,score; has {})", path,
                 names[k], fmt::join(t.header, ","));
    }
    const std::set<int> known_set(known.begin(), known.end());
    for (const auto& r : t.rows) {
      const std::string& ps = r.fields[col[0]];
      int pair = -1;
      const auto [ptr, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), pair);
      LDMG_CHECK(ec == std::errc() && ptr == ps.data() + ps.size() && pair >= 0,
                 "predictions '{}' line {}: field 'pair' is '{}', expected a pair index (0, 1, ...: pairs.csv's "
                 "`pair` column)",
                 path, r.line, ps);
      const std::string where = fmt::format("predictions '{}' line {} (pair {})", path, r.line, pair);
      LDMG_CHECK(known_set.empty() || known_set.count(pair), "{}: the dataset has no pair {}", where, pair);
      PredictedBox b;
      b.x = parse_number(r.fields[col[1]], where, "x");
      b.y = parse_number(r.fields[col[2]], where, "y");
      b.w = parse_number(r.fields[col[3]], where, "w");
      b.h = parse_number(r.fields[col[4]], where, "h");
      b.score = parse_number(r.fields[col[5]], where, "score");
      b.line = r.line;
      LDMG_CHECK(b.x >= 0 && b.y >= 0, "{}: fields 'x', 'y' are {}, {}; expected >= 0 (original image pixels)", where,
                 b.x, b.y);
      LDMG_CHECK(b.w >= 0 && b.h >= 0, "{}: fields 'w', 'h' are {}, {}; expected >= 0", where, b.w, b.h);
      boxes_[pair].push_back(b);
    }
  }
  PredictionFormat format() const override { return PredictionFormat::boxes; }
  const std::string& path() const override { return path_; }

  Prediction read(int pair) const override {
    const auto it = boxes_.find(pair);
    LDMG_CHECK(it != boxes_.end(), "predictions '{}': no prediction for pair {} (no row with pair = {})", path_, pair,
               pair);
    Prediction p;
    std::vector<int> lines;
    for (const auto& b : it->second) lines.push_back(b.line);
    p.origin = fmt::format("predictions '{}' pair {} (lines {})", path_, pair, fmt::join(lines, ","));
    p.boxes = it->second;
    return p;
  }

 private:
  std::string path_;
  std::map<int, std::vector<PredictedBox>> boxes_;
};

}  // namespace

std::unique_ptr<PredictionReader> open_predictions(const PredictionSourceOptions& o) {
  LDMG_CHECK(fs::exists(o.path), "predictions '{}' do not exist", o.path);
  switch (o.format) {
    case PredictionFormat::h5:
      return std::make_unique<H5Predictions>(o.path, o.h5_group);
    case PredictionFormat::npy:
      return std::make_unique<NpyPredictions>(o.path);
    case PredictionFormat::boxes:
      return std::make_unique<BoxPredictions>(o.path, o.known_pairs);
  }
  LDMG_FAIL("unknown prediction format");
}

}  // namespace ldmg::pipeline
