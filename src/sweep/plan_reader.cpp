#include "sweep/plan_reader.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "core/check.h"

namespace ldmg::sweep {

namespace {

using nlohmann::json;

// nlohmann's parser with a callback: the plan object's small members (format,
// version, Ts, pairs, settings) are built as a tree, as json::parse would;
// each element of "units" is built alone, converted at once (unit_from_json)
// and discarded, so the units array stays empty in the tree; other members
// are discarded unbuilt. Callback depths: 0 the document, 1 the plan
// object's members, 2 the elements of "units".
class PlanParse {
 public:
  explicit PlanParse(std::string what) : what_(std::move(what)) {}

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      member_ = parsed.get<std::string>();
      return member_ == "format" || member_ == "version" || member_ == "Ts" || member_ == "pairs" ||
             member_ == "settings" || member_ == "units";
    }
    if (member_ != "units") return true;
    if (depth == 1 && event == json::parse_event_t::array_start) {  // a repeated member: the last one counts
      units_.clear();
      unit_error_.reset();
      next_unit_ = 0;
    }
    // An element of "units" (when "units" is an object, its members are
    // depth-2 values too; they stay in the tree for plan_from_json's error).
    const bool element_end = event == json::parse_event_t::object_end || event == json::parse_event_t::array_end ||
                             (event == json::parse_event_t::value && !in_units_object_);
    if (depth == 1 && event == json::parse_event_t::object_start) in_units_object_ = true;
    if (depth == 1 && event == json::parse_event_t::array_start) in_units_object_ = false;
    if (depth != 2 || in_units_object_ || !element_end) return true;
    if (!unit_error_) {
      try {
        units_.push_back(unit_from_json(parsed, what_, next_unit_));
      } catch (const Error& e) {  // plan_from_json's order: the members' errors first, then the units'
        unit_error_ = e.what();
        units_.clear();
      }
    }
    ++next_unit_;
    return false;
  }

  // The parsed tree: plan_from_json checks everything but the units (an empty
  // array by now, or the non-array it was), then the first unit's error.
  SweepPlan plan(const json& tree) {
    SweepPlan plan = plan_from_json(tree, what_);
    if (unit_error_) throw Error(*unit_error_);
    plan.units = std::move(units_);
    return plan;
  }

 private:
  std::string what_;
  std::string member_;  // the plan object's member being read
  bool in_units_object_ = false;
  std::vector<SweepUnit> units_;
  std::size_t next_unit_ = 0;
  std::optional<std::string> unit_error_;
};

template <class Input>
SweepPlan read_plan(Input&& input, const std::string& what) {
  PlanParse parse(what);
  json tree;
  try {
    tree = json::parse(std::forward<Input>(input), std::ref(parse));
  } catch (const json::parse_error& e) {
    // nlohmann counts the characters read, the failing one (or the end) included.
    LDMG_FAIL("{}: not valid JSON (truncated or damaged?) at byte offset {}: {}", what, e.byte > 0 ? e.byte - 1 : 0,
              e.what());
  } catch (const json::exception& e) {
    LDMG_FAIL("{}: not valid JSON: {}", what, e.what());
  }
  return parse.plan(tree);
}

}  // namespace

SweepPlan read_plan_file(const std::string& path) {
  std::error_code ec;
  LDMG_CHECK(std::filesystem::exists(path, ec), "file not found: '{}'", path);
  LDMG_CHECK(!std::filesystem::is_directory(path, ec), "expected a file but '{}' is a directory", path);
  std::ifstream in(path, std::ios::binary);
  LDMG_CHECK(in, "cannot open '{}': {}", path, std::strerror(errno));
  SweepPlan plan = read_plan(in, path);
  LDMG_CHECK(!in.bad(), "cannot read '{}': {}", path, std::strerror(errno));
  return plan;
}

SweepPlan read_plan_text(const std::string& text, const std::string& what) { return read_plan(text, what); }

}  // namespace ldmg::sweep
