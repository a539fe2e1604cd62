#include "data/ms_cxr.h"

#include <fmt/ranges.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <utility>

#include "core/check.h"
#include "core/log.h"

namespace fs = std::filesystem;

namespace ldmg::data {

namespace {

constexpr const char* kRequired[] = {"dicom_id", "category_name", "label_text", "path", "x",
                                     "y",        "w",             "h",          "image_width", "image_height"};

struct Columns {
  int dicom_id, category, label, path, x, y, w, h, width, height, split;
};

Columns find_columns(const CsvTable& t) {
  std::string missing;
  for (const char* name : kRequired)
    if (t.column(name) < 0) missing += fmt::format("{}{}", missing.empty() ? "" : ", ", name);
  LDMG_CHECK(missing.empty(),
             "'{}' is not an MS-CXR table: missing column(s) {} (required: dicom_id, category_name, label_text, path, "
             "x, y, w, h, image_width, image_height; found: {})",
             t.source, missing, fmt::join(t.header, ", "));
  return {t.column("dicom_id"), t.column("category_name"), t.column("label_text"), t.column("path"),
          t.column("x"),        t.column("y"),             t.column("w"),          t.column("h"),
          t.column("image_width"), t.column("image_height"), t.column("split")};
}

std::string where(const CsvTable& t, std::size_t row) {
  return fmt::format("'{}' row {} (line {})", t.source, row + 1, t.rows[row].line);
}

const std::string& text_field(const CsvTable& t, std::size_t row, int col) {
  const std::string& v = t.rows[row].fields[col];
  LDMG_CHECK(!v.empty(), "{}, column '{}': empty value", where(t, row), t.header[col]);
  return v;
}

// A finite integral number ("330" or "330.0"), within int range, >= min_value.
int int_field(const CsvTable& t, std::size_t row, int col, int min_value) {
  std::string_view s = t.rows[row].fields[col];
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  const std::string& name = t.header[col];
  LDMG_CHECK(!s.empty(), "{}, column '{}': empty value, expected an integer", where(t, row), name);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  LDMG_CHECK(ec == std::errc() && end == s.data() + s.size(), "{}, column '{}': '{}' is not a number", where(t, row),
             name, s);
  LDMG_CHECK(std::isfinite(v), "{}, column '{}': '{}' is not a finite number", where(t, row), name, s);
  LDMG_CHECK(v == std::floor(v), "{}, column '{}': '{}' is not an integer", where(t, row), name, s);
  LDMG_CHECK(v >= min_value && v <= std::numeric_limits<int>::max(), "{}, column '{}': {} is out of range (must be >= {})",
             where(t, row), name, s, min_value);
  return static_cast<int>(v);
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

void check_relative_image_path(const std::string& relative, const std::string& what) {
  const fs::path rel(relative);
  LDMG_CHECK(!relative.empty(), "{}: empty image path", what);
  LDMG_CHECK(!rel.is_absolute() && !rel.has_root_directory() && !rel.has_root_name(),
             "{}: image path '{}' is absolute; paths must be relative to the images root", what, relative);
  for (const auto& part : rel)
    LDMG_CHECK(part != "..", "{}: image path '{}' contains '..' and could leave the images root", what, relative);
}

namespace {

fs::path canonical_root(const std::string& root) {
  std::error_code ec;
  const fs::path root_c = fs::weakly_canonical(fs::absolute(root), ec);
  LDMG_CHECK(!ec, "cannot resolve the images root '{}': {}", root, ec.message());
  return root_c;
}

// resolve_under_root with the root already canonical (root_c; `root` as the
// user wrote it, for messages): one weakly_canonical per path, not two.
std::string resolve_under_canonical(const fs::path& root_c, const std::string& root, const std::string& relative,
                                    const std::string& what) {
  check_relative_image_path(relative, what);
  std::error_code ec;
  const fs::path full = fs::weakly_canonical(root_c / fs::path(relative), ec);
  LDMG_CHECK(!ec, "{}: cannot resolve image path '{}' under '{}': {}", what, relative, root, ec.message());
  LDMG_CHECK(is_within(full, root_c),
             "{}: image path '{}' resolves to '{}', outside the images root '{}' (a symlink points outside)", what,
             relative, full.string(), root_c.string());
  return full.string();
}

std::string resolve_image_under_canonical(const fs::path& root_c, const std::string& root, const std::string& relative,
                                          const std::string& what) {
  const std::string as_written = resolve_under_canonical(root_c, root, relative, what);
  const fs::path rel(relative);
  if (rel.extension() != ".jpg") return as_written;
  std::error_code ec;
  if (fs::exists(as_written, ec)) return as_written;
  const std::string dcm = resolve_under_canonical(root_c, root, fs::path(rel).replace_extension(".dcm").string(), what);
  return fs::is_regular_file(dcm, ec) ? dcm : as_written;
}

}  // namespace

std::string resolve_under_root(const std::string& root, const std::string& relative, const std::string& what) {
  check_relative_image_path(relative, what);
  return resolve_under_canonical(canonical_root(root), root, relative, what);
}

std::string resolve_image_under_root(const std::string& root, const std::string& relative, const std::string& what) {
  check_relative_image_path(relative, what);
  return resolve_image_under_canonical(canonical_root(root), root, relative, what);
}

MsCxrDataset::MsCxrDataset(std::string source, std::vector<Pair> pairs)
    : source_(std::move(source)), pairs_(std::move(pairs)) {
  for (const Pair& p : pairs_) {
    bool known = false;
    for (const auto& c : categories_) known = known || c == p.category;
    if (!known) categories_.push_back(p.category);
  }
}

// official/data/ms_cxr.py:17-31: groupby(["path", "label_text"]) merge, keep="first".
MsCxrDataset parse_ms_cxr(const CsvTable& t, const MsCxrOptions& options) {
  const Columns c = find_columns(t);
  std::vector<Pair> pairs;
  std::map<std::pair<std::string, std::string>, std::size_t> by_key;
  std::size_t dcm_for_jpg = 0;
  // The root is canonicalised once and each distinct path resolved once
  // (MS-CXR has several rows per image): at 10^5 rows the per-row filesystem
  // walks dominated reading the CSV (docs/running-at-scale.md).
  const fs::path root_c = options.images_root.empty() ? fs::path() : canonical_root(options.images_root);
  std::map<std::string, std::string> resolved;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& dicom = text_field(t, r, c.dicom_id);
    const auto& category = text_field(t, r, c.category);
    const auto& label = text_field(t, r, c.label);
    const auto& path = text_field(t, r, c.path);
    Box box;
    box.x = int_field(t, r, c.x, 0);
    box.y = int_field(t, r, c.y, 0);
    box.w = int_field(t, r, c.w, 1);
    box.h = int_field(t, r, c.h, 1);
    const int width = int_field(t, r, c.width, 1);
    const int height = int_field(t, r, c.height, 1);
    if (static_cast<long long>(box.x) + box.w > width || static_cast<long long>(box.y) + box.h > height) {
      const bool outside = box.x >= width || box.y >= height;
      LDMG_CHECK(!options.strict_bounds, "{}: box [{}, {}, {}, {}] (x, y, w, h) is not inside the image {}x{}",
                 where(t, r), box.x, box.y, box.w, box.h, width, height);
      log::warn("{}: box [{}, {}, {}, {}] (x, y, w, h) {} the image {}x{}; its raster is clipped as upstream does",
                where(t, r), box.x, box.y, box.w, box.h, outside ? "lies entirely outside" : "extends beyond", width,
                height);
    }
    const auto key = std::make_pair(path, label);
    const auto it = by_key.find(key);
    if (it != by_key.end()) {
      Pair& p = pairs[it->second];
      p.boxes.push_back(box);
      p.rows.push_back(static_cast<int>(r + 1));
      if (width != p.csv_width || height != p.csv_height)
        log::warn("{}: image size {}x{} differs from {}x{} in row {} of the same pair; the first row's is used",
                  where(t, r), width, height, p.csv_width, p.csv_height, p.rows.front());
      if (category != p.category)
        log::warn("{}: category '{}' differs from '{}' in row {} of the same pair; the first row's is used",
                  where(t, r), category, p.category, p.rows.front());
      continue;
    }
    Pair p;
    p.index = static_cast<int>(pairs.size());
    p.dicom_id = dicom;
    p.category = category;
    p.prompt = label;
    p.path = path;
    if (c.split >= 0) p.split = t.rows[r].fields[c.split];
    p.boxes.push_back(box);
    p.csv_width = width;
    p.csv_height = height;
    p.rows.push_back(static_cast<int>(r + 1));
    // Lexically checked even without a root: a pair names a file under it.
    check_relative_image_path(path, where(t, r) + ", column 'path'");
    if (!options.images_root.empty()) {
      auto hit = resolved.find(path);
      if (hit == resolved.end())
        hit = resolved.emplace(path, resolve_image_under_canonical(root_c, options.images_root, path,
                                                                   where(t, r) + ", column 'path'"))
                  .first;
      p.image_path = hit->second;
      if (fs::path(p.image_path).extension() == ".dcm" && fs::path(path).extension() == ".jpg") ++dcm_for_jpg;
      if (options.require_images) {
        std::error_code ec;
        LDMG_CHECK(fs::is_regular_file(p.image_path, ec), "{}: image '{}' not found (resolved to '{}')", where(t, r),
                   path, p.image_path);
      }
    }
    by_key.emplace(key, pairs.size());
    pairs.push_back(std::move(p));
  }
  if (dcm_for_jpg > 0)
    log::info("'{}': {} of {} pairs' .jpg images read from the .dcm beside them under '{}' (MIMIC-CXR DICOM layout)",
              t.source, dcm_for_jpg, pairs.size(), options.images_root);
  return MsCxrDataset(t.source, std::move(pairs));
}

MsCxrDataset read_ms_cxr(const std::string& csv_path, const MsCxrOptions& options) {
  return parse_ms_cxr(read_csv(csv_path), options);
}

}  // namespace ldmg::data
