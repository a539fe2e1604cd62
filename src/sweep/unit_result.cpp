#include "sweep/unit_result.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::sweep {

namespace {

// JSON has no NaN: null stands for it (auroc_exact of a degenerate map).
nlohmann::json number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }
double number(const nlohmann::json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

nlohmann::json row_json(const pipeline::PairRow& r) {
  nlohmann::json j = {{"pair", r.pair}, {"dicom_id", r.dicom_id}, {"path", r.path},
                      {"category", r.category}, {"prompt", r.prompt}, {"skipped", r.skipped}};
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.skipped && r.error.empty()) {
    j["cnr_abs"] = number(r.metrics.abs_cnr);
    j["cnr"] = number(r.metrics.cnr);
    j["miou"] = number(r.metrics.miou);
    j["auroc"] = number(r.metrics.auroc);
    j["auroc_exact"] = number(r.metrics.auroc_exact);
    j["otsu_threshold"] = number(static_cast<double>(r.otsu_threshold));  // NaN with otsu=off
    j["otsu_margin"] = number(r.otsu_margin);
  }
  return j;
}

pipeline::PairRow row_from(const nlohmann::json& j) {
  pipeline::PairRow r;
  r.pair = j.at("pair").get<int>();
  r.dicom_id = j.at("dicom_id").get<std::string>();
  r.path = j.at("path").get<std::string>();
  r.category = j.at("category").get<std::string>();
  r.prompt = j.at("prompt").get<std::string>();
  r.skipped = j.at("skipped").get<bool>();
  if (j.contains("error")) r.error = j["error"].get<std::string>();
  r.metrics.category = r.category;
  if (j.contains("cnr")) {
    r.metrics.abs_cnr = number(j.at("cnr_abs"));
    r.metrics.cnr = number(j.at("cnr"));
    r.metrics.miou = number(j.at("miou"));
    r.metrics.auroc = number(j.at("auroc"));
    r.metrics.auroc_exact = number(j.at("auroc_exact"));
    r.otsu_threshold = static_cast<float>(number(j.at("otsu_threshold")));
    r.otsu_margin = number(j.at("otsu_margin"));
  }
  return r;
}

}  // namespace

std::string unit_result_path(const std::string& run_dir, const std::string& unit_id) {
  return run_dir + "/units/" + unit_id + ".json";
}

std::string format_unit_result(const UnitResult& r) {
  nlohmann::json j;
  j["format"] = "ldmground.unit_result";
  j["version"] = 1;
  j["unit"] = r.unit_id;
  j["T"] = r.T;
  j["configs"] = r.configs;
  j["seconds"] = r.seconds;
  j["unet_calls"] = r.unet_calls;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& per_cfg : r.rows) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& row : per_cfg) a.push_back(row_json(row));
    rows.push_back(std::move(a));
  }
  j["rows"] = std::move(rows);
  return j.dump(1) + "\n";
}

UnitResult parse_unit_result(const std::string& text, const std::string& what) {
  try {
    const auto j = nlohmann::json::parse(text);
    LDMG_CHECK(j.at("format") == "ldmground.unit_result" && j.at("version") == 1,
               "{}: not a version-1 unit result", what);
    UnitResult r;
    r.unit_id = j.at("unit").get<std::string>();
    r.T = j.at("T").get<int>();
    r.configs = j.at("configs").get<std::vector<std::string>>();
    r.seconds = j.at("seconds").get<double>();
    r.unet_calls = j.at("unet_calls").get<long>();
    for (const auto& a : j.at("rows")) {
      std::vector<pipeline::PairRow> per_cfg;
      for (const auto& row : a) per_cfg.push_back(row_from(row));
      LDMG_CHECK(per_cfg.size() == r.configs.size(), "{}: {} rows for a pair but {} configs", what, per_cfg.size(),
                 r.configs.size());
      r.rows.push_back(std::move(per_cfg));
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("{}: malformed unit result: {}", what, e.what());
  }
}

void write_unit_result(const std::string& run_dir, const UnitResult& r) {
  std::filesystem::create_directories(run_dir + "/units");
  io::write_file_atomic(unit_result_path(run_dir, r.unit_id), format_unit_result(r));
}

UnitResult read_unit_result(const std::string& run_dir, const std::string& unit_id) {
  const std::string path = unit_result_path(run_dir, unit_id);
  UnitResult r = parse_unit_result(io::read_file_bytes(path), path);
  LDMG_CHECK(r.unit_id == unit_id, "{}: holds unit '{}', expected '{}'", path, r.unit_id, unit_id);
  return r;
}

}  // namespace ldmg::sweep
