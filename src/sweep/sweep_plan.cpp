#include "sweep/sweep_plan.h"

#include <filesystem>
#include <map>

#include "core/check.h"
#include "core/log.h"
#include "core/sha256.h"
#include "sweep/work_unit.h"

namespace ldmg::sweep {

int SweepPlan::find(const std::string& unit_id) const {
  for (std::size_t i = 0; i < units.size(); ++i)
    if (units[i].id == unit_id) return static_cast<int>(i);
  return -1;
}

SweepPlan make_sweep_plan(const data::MsCxrDataset& dataset, const std::vector<int>& selected,
                          const std::vector<int>& Ts, const SweepSettings& settings) {
  LDMG_CHECK(!Ts.empty(), "a sweep needs at least one T (--steps)");
  LDMG_CHECK(!selected.empty(), "a sweep needs at least one pair");
  SweepPlan plan;
  plan.Ts = Ts;
  plan.pairs = selected;
  plan.settings = settings;

  // Images in order of first appearance, each with its pairs.
  std::vector<std::string> order;
  std::map<std::string, std::vector<int>> by_image;
  for (int i : selected) {
    const data::Pair& p = dataset[static_cast<std::size_t>(i)];
    if (!by_image.count(p.image_path)) order.push_back(p.image_path);
    by_image[p.image_path].push_back(i);
  }
  std::map<std::string, std::string> digest;
  for (const auto& image : order) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(image, ec)) {
      digest[image] = sha256_file(image);
    } else {
      // The unit is still planned: running it records the error, and once
      // the file exists its digest names a new unit.
      const std::string& rel = dataset[static_cast<std::size_t>(by_image[image].front())].path;
      log::warn("image '{}' is missing or not a regular file: its unit will fail", image);
      digest[image] = sha256_hex("missing:" + rel);
    }
  }
  for (int T : Ts) {
    LDMG_CHECK(T >= 1, "T must be >= 1, got {}", T);
    for (const auto& image : order) {
      SweepUnit u;
      u.T = T;
      u.image_path = image;
      u.pairs = by_image[image];
      u.path = dataset[static_cast<std::size_t>(u.pairs.front())].path;
      u.image_sha256 = digest[image];
      UnitKey key;
      key.image_sha256 = u.image_sha256;
      for (int i : u.pairs) key.prompts.push_back(dataset[static_cast<std::size_t>(i)].prompt);
      key.T = T;
      key.inversion = settings.inversion;
      key.model_digest = settings.model_digest;
      key.cache = settings.outputs;
      key.code_version = settings.code_version;
      u.id = unit_id(key);
      plan.units.push_back(std::move(u));
    }
  }
  return plan;
}

nlohmann::json plan_to_json(const SweepPlan& plan) {
  nlohmann::json j;
  j["format"] = "ldmground.sweep_plan";
  j["version"] = 1;
  j["Ts"] = plan.Ts;
  j["pairs"] = plan.pairs;
  j["settings"] = {{"inversion", plan.settings.inversion},
                   {"outputs", plan.settings.outputs},
                   {"model_digest", plan.settings.model_digest},
                   {"code_version", plan.settings.code_version}};
  nlohmann::json units = nlohmann::json::array();
  for (const auto& u : plan.units)
    units.push_back({{"id", u.id},
                     {"T", u.T},
                     {"image_path", u.image_path},
                     {"path", u.path},
                     {"image_sha256", u.image_sha256},
                     {"pairs", u.pairs}});
  j["units"] = std::move(units);
  return j;
}

SweepPlan plan_from_json(const nlohmann::json& j, const std::string& what) {
  try {
    LDMG_CHECK(j.at("format") == "ldmground.sweep_plan", "{}: not a sweep plan (format '{}')", what,
               j.at("format").dump());
    LDMG_CHECK(j.at("version") == 1, "{}: sweep plan version {} is not supported (expected 1)", what,
               j.at("version").dump());
    SweepPlan plan;
    plan.Ts = j.at("Ts").get<std::vector<int>>();
    plan.pairs = j.at("pairs").get<std::vector<int>>();
    const auto& s = j.at("settings");
    plan.settings = {s.at("inversion").get<std::string>(), s.at("outputs").get<std::string>(),
                     s.at("model_digest").get<std::string>(), s.at("code_version").get<std::string>()};
    for (const auto& ju : j.at("units")) {
      SweepUnit u;
      u.id = ju.at("id").get<std::string>();
      u.T = ju.at("T").get<int>();
      u.image_path = ju.at("image_path").get<std::string>();
      u.path = ju.at("path").get<std::string>();
      u.image_sha256 = ju.at("image_sha256").get<std::string>();
      u.pairs = ju.at("pairs").get<std::vector<int>>();
      plan.units.push_back(std::move(u));
    }
    return plan;
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("{}: malformed sweep plan: {}", what, e.what());
  }
}

std::string plan_path(const std::string& run_dir) { return run_dir + "/plan.json"; }

}  // namespace ldmg::sweep
