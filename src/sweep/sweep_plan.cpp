#include "sweep/sweep_plan.h"

#include <filesystem>
#include <map>

#include "core/check.h"
#include "core/log.h"
#include "core/sha256.h"
#include "sweep/json_text.h"
#include "sweep/work_unit.h"

namespace ldmg::sweep {

int SweepPlan::find(const std::string& unit_id) const {
  for (std::size_t i = 0; i < units.size(); ++i)
    if (units[i].id == unit_id) return static_cast<int>(i);
  return -1;
}

namespace {

// Images in order of first appearance, each with its selected pairs.
struct ImageGroups {
  std::vector<std::string> order;
  std::map<std::string, std::vector<int>> pairs;
};

ImageGroups group_by_image(const data::MsCxrDataset& dataset, const std::vector<int>& selected) {
  ImageGroups g;
  for (int i : selected) {
    const data::Pair& p = dataset[static_cast<std::size_t>(i)];
    auto [it, inserted] = g.pairs.try_emplace(p.image_path);
    if (inserted) g.order.push_back(p.image_path);
    it->second.push_back(i);
  }
  return g;
}

}  // namespace

std::vector<std::string> image_digests(const data::MsCxrDataset& dataset, const std::vector<int>& selected) {
  const ImageGroups g = group_by_image(dataset, selected);
  std::vector<std::string> digests;
  digests.reserve(g.order.size());
  for (const auto& image : g.order) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(image, ec)) {
      digests.push_back(sha256_file(image));
    } else {
      // The unit is still planned: running it records the error, and once
      // the file exists its digest names a new unit.
      const std::string& rel = dataset[static_cast<std::size_t>(g.pairs.at(image).front())].path;
      log::warn("image '{}' is missing or not a regular file: its unit will fail", image);
      digests.push_back(sha256_hex("missing:" + rel));
    }
  }
  return digests;
}

SweepPlan make_sweep_plan(const data::MsCxrDataset& dataset, const std::vector<int>& selected,
                          const std::vector<int>& Ts, const SweepSettings& settings) {
  LDMG_CHECK(!selected.empty(), "a sweep needs at least one pair");
  return make_sweep_plan(dataset, selected, Ts, settings, image_digests(dataset, selected));
}

SweepPlan make_sweep_plan(const data::MsCxrDataset& dataset, const std::vector<int>& selected,
                          const std::vector<int>& Ts, const SweepSettings& settings,
                          const std::vector<std::string>& digests) {
  LDMG_CHECK(!Ts.empty(), "a sweep needs at least one T (--steps)");
  LDMG_CHECK(!selected.empty(), "a sweep needs at least one pair");
  SweepPlan plan;
  plan.Ts = Ts;
  plan.pairs = selected;
  plan.settings = settings;
  const ImageGroups g = group_by_image(dataset, selected);
  LDMG_CHECK(digests.size() == g.order.size(), "sweep plan: {} image digests for {} images", digests.size(),
             g.order.size());
  for (int T : Ts) {
    LDMG_CHECK(T >= 1, "T must be >= 1, got {}", T);
    for (std::size_t m = 0; m < g.order.size(); ++m) {
      const std::string& image = g.order[m];
      SweepUnit u;
      u.T = T;
      u.image_path = image;
      u.pairs = g.pairs.at(image);
      u.path = dataset[static_cast<std::size_t>(u.pairs.front())].path;
      u.image_sha256 = digests[m];
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

namespace {
nlohmann::json unit_json(const SweepUnit& u) {
  return {{"id", u.id}, {"T", u.T}, {"image_path", u.image_path}, {"path", u.path}, {"image_sha256", u.image_sha256},
          {"pairs", u.pairs}};
}
}  // namespace

nlohmann::json settings_to_json(const SweepSettings& s) {
  return {{"inversion", s.inversion},
          {"outputs", s.outputs},
          {"model_digest", s.model_digest},
          {"code_version", s.code_version}};
}

SweepSettings settings_from_json(const nlohmann::json& j) {
  return {j.at("inversion").get<std::string>(), j.at("outputs").get<std::string>(),
          j.at("model_digest").get<std::string>(), j.at("code_version").get<std::string>()};
}

nlohmann::json plan_to_json(const SweepPlan& plan) {
  nlohmann::json j;
  j["format"] = "ldmground.sweep_plan";
  j["version"] = 1;
  j["Ts"] = plan.Ts;
  j["pairs"] = plan.pairs;
  j["settings"] = settings_to_json(plan.settings);
  nlohmann::json units = nlohmann::json::array();
  for (const auto& u : plan.units) units.push_back(unit_json(u));
  j["units"] = std::move(units);
  return j;
}

std::string plan_json_text(const SweepPlan& plan) {
  SweepPlan head;
  head.Ts = plan.Ts;
  head.pairs = plan.pairs;
  head.settings = plan.settings;
  nlohmann::json j = plan_to_json(head);
  j.erase("units");
  return dump1_with_array(j, "units", plan.units.size(), [&](std::size_t i) { return unit_json(plan.units[i]); }) +
         "\n";
}

namespace {

// A member of a plan object or unit; `where` is "" or "unit <i>: ".
const nlohmann::json& member(const nlohmann::json& obj, const char* key, const std::string& what,
                             const std::string& where) {
  const auto it = obj.find(key);
  LDMG_CHECK(it != obj.end(), "{}: malformed sweep plan: {}no '{}'", what, where, key);
  return *it;
}

template <class T>
T member_as(const nlohmann::json& obj, const char* key, const char* expected, const std::string& what,
            const std::string& where) {
  const nlohmann::json& v = member(obj, key, what, where);
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("{}: malformed sweep plan: {}'{}' is not {} ({})", what, where, key, expected, e.what());
  }
}

}  // namespace

SweepUnit unit_from_json(const nlohmann::json& ju, const std::string& what, std::size_t index) {
  const std::string where = fmt::format("unit {}: ", index);
  LDMG_CHECK(ju.is_object(), "{}: malformed sweep plan: {}not an object but {}", what, where, ju.type_name());
  SweepUnit u;
  u.id = member_as<std::string>(ju, "id", "a string", what, where);
  u.T = member_as<int>(ju, "T", "an integer", what, where);
  u.image_path = member_as<std::string>(ju, "image_path", "a string", what, where);
  u.path = member_as<std::string>(ju, "path", "a string", what, where);
  u.image_sha256 = member_as<std::string>(ju, "image_sha256", "a string", what, where);
  u.pairs = member_as<std::vector<int>>(ju, "pairs", "an array of integers", what, where);
  return u;
}

SweepPlan plan_from_json(const nlohmann::json& j, const std::string& what) {
  LDMG_CHECK(j.is_object(), "{}: malformed sweep plan: not a JSON object but {}", what, j.type_name());
  const nlohmann::json& format = member(j, "format", what, "");
  LDMG_CHECK(format == "ldmground.sweep_plan", "{}: not a sweep plan (format '{}')", what, format.dump());
  const nlohmann::json& version = member(j, "version", what, "");
  LDMG_CHECK(version == 1, "{}: sweep plan version {} is not supported (expected 1)", what, version.dump());
  SweepPlan plan;
  plan.Ts = member_as<std::vector<int>>(j, "Ts", "an array of integers", what, "");
  plan.pairs = member_as<std::vector<int>>(j, "pairs", "an array of integers", what, "");
  const nlohmann::json& settings = member(j, "settings", what, "");
  try {
    plan.settings = settings_from_json(settings);
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("{}: malformed sweep plan: 'settings': {}", what, e.what());
  }
  const nlohmann::json& units = member(j, "units", what, "");
  LDMG_CHECK(units.is_array(), "{}: malformed sweep plan: 'units' is not an array but {}", what, units.type_name());
  plan.units.reserve(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) plan.units.push_back(unit_from_json(units[i], what, i));
  return plan;
}

std::string plan_path(const std::string& run_dir) { return run_dir + "/plan.json"; }

}  // namespace ldmg::sweep
