// read_plan_file, the streaming reader of plan.json, against the plan it was
// written from (every field) and against plan_from_json on the whole tree
// (the same plan, the same error messages); every truncation of a plan file
// and damaged bytes throw ldmg::Error naming the file and the byte offset.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/check.h"
#include "support/fixtures.h"
#include "sweep/plan_reader.h"
#include "sweep/sweep_plan.h"

namespace ldmg {
namespace {

using nlohmann::json;

// Strings that JSON escapes, UTF-8, an empty pairs list, T values in any order.
sweep::SweepPlan odd_plan() {
  sweep::SweepPlan plan;
  plan.Ts = {300, 10, 50};
  plan.pairs = {0, 1, 2, 5, 7};
  plan.settings = {"spacing=trailing;\"units\": [", "cache=full;tab\there", "model \xc3\xbc", "v1\n\\"};
  const std::vector<std::vector<int>> pairs_of = {{0, 1}, {2}, {}, {5, 7}};
  for (int T : plan.Ts) {
    for (std::size_t m = 0; m < pairs_of.size(); ++m) {
      sweep::SweepUnit u;
      u.id = "id-" + std::to_string(T) + "-" + std::to_string(m);
      u.T = T;
      u.image_path = "/images/p1" + std::to_string(m) + "/\"quoted\" \xe2\x9c\x93.jpg";
      u.path = "p1" + std::to_string(m) + "/img.jpg";
      u.image_sha256 = std::string(63, static_cast<char>('a' + m)) + std::to_string(T % 10);
      u.pairs = pairs_of[m];
      plan.units.push_back(u);
    }
  }
  return plan;
}

void expect_same_plan(const sweep::SweepPlan& a, const sweep::SweepPlan& b) {
  EXPECT_EQ(a.Ts, b.Ts);
  EXPECT_EQ(a.pairs, b.pairs);
  EXPECT_EQ(a.settings.inversion, b.settings.inversion);
  EXPECT_EQ(a.settings.outputs, b.settings.outputs);
  EXPECT_EQ(a.settings.model_digest, b.settings.model_digest);
  EXPECT_EQ(a.settings.code_version, b.settings.code_version);
  ASSERT_EQ(a.units.size(), b.units.size());
  for (std::size_t i = 0; i < a.units.size(); ++i) {
    const sweep::SweepUnit &x = a.units[i], &y = b.units[i];
    EXPECT_EQ(x.id, y.id) << "unit " << i;
    EXPECT_EQ(x.T, y.T) << "unit " << i;
    EXPECT_EQ(x.image_path, y.image_path) << "unit " << i;
    EXPECT_EQ(x.path, y.path) << "unit " << i;
    EXPECT_EQ(x.image_sha256, y.image_sha256) << "unit " << i;
    EXPECT_EQ(x.pairs, y.pairs) << "unit " << i;
  }
}

std::string write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ldmg::Error";
  return {};
}

// The message of both readers on `text`; fails the test unless they agree.
std::string same_error(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = write_file(dir + "/" + name, text);
  const std::string streamed = error_of([&] { sweep::read_plan_file(path); });
  const std::string tree = error_of([&] { sweep::plan_from_json(json::parse(text), path); });
  EXPECT_EQ(streamed, tree) << name;
  return streamed;
}

void expect_mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& p : parts) EXPECT_NE(message.find(p), std::string::npos) << message << "\n  lacks: " << p;
}

TEST(SweepPlanReader, WrittenPlanReadsBackWithEveryField) {
  const std::string dir = test::temp_dir("plan_reader_round_trip");
  const sweep::SweepPlan plan = odd_plan();
  ASSERT_EQ(plan.units.size(), 12u);
  const std::string text = sweep::plan_json_text(plan);
  const std::string path = write_file(dir + "/plan.json", text);
  expect_same_plan(plan, sweep::read_plan_file(path));
  expect_same_plan(plan, sweep::read_plan_text(text, "plan text"));
  expect_same_plan(sweep::plan_from_json(json::parse(text), path), sweep::read_plan_file(path));

  sweep::SweepPlan empty = plan;
  empty.units.clear();
  expect_same_plan(empty, sweep::read_plan_file(write_file(dir + "/empty.json", sweep::plan_json_text(empty))));
}

TEST(SweepPlanReader, EqualsPlanFromJsonWhateverTheMemberOrderAndExtraMembers) {
  // Members in another order than dump's (version before units, units before
  // format), members and unit fields the readers ignore (nested, large), a
  // repeated "units" (the last one counts, as in nlohmann's tree), no newline.
  const std::string text = R"({"version": 1, "comment": {"deep": [[1, {"units": [2]}], "x"], "n": null},
    "units": [{"id": "stale", "T": 1, "image_path": "", "path": "", "image_sha256": "", "pairs": []}],
    "Ts": [20, 10], "units": [
      {"pairs": [3, 4], "extra": {"a": [1, 2.5, true, null]}, "image_sha256": "abc", "path": "p/a.jpg",
       "image_path": "/r/p/a.jpg", "T": 20, "id": "u1"},
      {"id": "u2", "T": 10, "image_path": "/r/p/b.jpg", "path": "p/b.jpg", "image_sha256": "def", "pairs": []}],
    "settings": {"inversion": "i", "outputs": "o", "model_digest": "m", "code_version": "c", "more": 1},
    "format": "ldmground.sweep_plan", "pairs": [3, 4], "tail": [1, 2, 3]})";
  const sweep::SweepPlan tree = sweep::plan_from_json(json::parse(text), "t");
  const sweep::SweepPlan streamed = sweep::read_plan_text(text, "t");
  expect_same_plan(tree, streamed);
  ASSERT_EQ(streamed.units.size(), 2u);
  EXPECT_EQ(streamed.units[0].id, "u1");
  EXPECT_EQ(streamed.units[0].pairs, (std::vector<int>{3, 4}));
  EXPECT_EQ(streamed.units[1].T, 10);
  EXPECT_EQ(streamed.Ts, (std::vector<int>{20, 10}));
  EXPECT_EQ(streamed.settings.code_version, "c");
}

TEST(SweepPlanReader, EveryTruncationThrowsNamingTheFileAndOffset) {
  const std::string dir = test::temp_dir("plan_reader_truncated");
  sweep::SweepPlan plan = odd_plan();
  plan.units.resize(3);
  const std::string text = sweep::plan_json_text(plan);
  ASSERT_EQ(text.back(), '\n');
  // Every cut that loses more than the final newline leaves invalid JSON,
  // which fails where the bytes end.
  for (std::size_t cut = 0; cut + 1 < text.size(); ++cut) {
    const std::string path = write_file(dir + "/cut.json", text.substr(0, cut));
    const std::string message = error_of([&] { sweep::read_plan_file(path); });
    EXPECT_NE(message.find(path + ": not valid JSON"), std::string::npos) << "cut at " << cut << ": " << message;
    EXPECT_NE(message.find("at byte offset " + std::to_string(cut) + ":"), std::string::npos)
        << "cut at " << cut << ": " << message;
  }
  expect_same_plan(plan, sweep::read_plan_file(write_file(dir + "/no_newline.json", text.substr(0, text.size() - 1))));

  // A damaged byte: the offset is that byte's.
  std::string damaged = text;
  const std::size_t colon = damaged.find("\"Ts\":") + 4;
  damaged[colon] = '#';
  const std::string path = write_file(dir + "/damaged.json", damaged);
  expect_mentions(error_of([&] { sweep::read_plan_file(path); }),
                  {path, "at byte offset " + std::to_string(colon) + ":"});
  expect_mentions(error_of([&] { sweep::read_plan_file(write_file(dir + "/trailing.json", text + "}")); }),
                  {"trailing.json", "at byte offset " + std::to_string(text.size()) + ":"});
  expect_mentions(error_of([&] { sweep::read_plan_file(dir + "/absent.json"); }), {dir + "/absent.json", "not found"});
}

TEST(SweepPlanReader, MalformedPlansGiveTheErrorsOfPlanFromJson) {
  const std::string dir = test::temp_dir("plan_reader_malformed");
  sweep::SweepPlan plan = odd_plan();
  plan.units.resize(3);
  const json good = sweep::plan_to_json(plan);
  const auto variant = [&](const std::function<void(json&)>& change) {
    json j = good;
    change(j);
    return j.dump(1);
  };

  std::string m = same_error(dir, "format.json", variant([](json& j) { j["format"] = "ldmground.cache_manifest"; }));
  expect_mentions(m, {dir + "/format.json", "not a sweep plan", "ldmground.cache_manifest"});
  m = same_error(dir, "version.json", variant([](json& j) { j["version"] = 2; }));
  expect_mentions(m, {dir + "/version.json", "version 2 is not supported"});
  m = same_error(dir, "no_sha.json", variant([](json& j) { j["units"][1].erase("image_sha256"); }));
  expect_mentions(m, {dir + "/no_sha.json", "unit 1:", "no 'image_sha256'"});
  m = same_error(dir, "pairs_object.json", variant([](json& j) { j["pairs"] = {{"a", 1}}; }));
  expect_mentions(m, {dir + "/pairs_object.json", "'pairs' is not an array of integers", "object"});
  m = same_error(dir, "unit_pairs_strings.json", variant([](json& j) { j["units"][2]["pairs"] = {"1"}; }));
  expect_mentions(m, {"unit_pairs_strings.json", "unit 2:", "'pairs' is not an array of integers"});
  m = same_error(dir, "T_string.json", variant([](json& j) { j["units"][0]["T"] = "10"; }));
  expect_mentions(m, {"T_string.json", "unit 0:", "'T' is not an integer"});
  m = same_error(dir, "unit_array.json", variant([](json& j) { j["units"][1] = json::array({1}); }));
  expect_mentions(m, {"unit_array.json", "unit 1:", "not an object but array"});
  m = same_error(dir, "units_object.json", variant([](json& j) { j["units"] = {{"a", {1, 2}}}; }));
  expect_mentions(m, {"units_object.json", "'units' is not an array but object"});
  m = same_error(dir, "units_number.json", variant([](json& j) { j["units"] = 3; }));
  expect_mentions(m, {"units_number.json", "'units' is not an array but number"});
  m = same_error(dir, "no_units.json", variant([](json& j) { j.erase("units"); }));
  expect_mentions(m, {"no_units.json", "no 'units'"});
  m = same_error(dir, "settings.json", variant([](json& j) { j["settings"].erase("outputs"); }));
  expect_mentions(m, {"settings.json", "'settings'", "outputs"});
  m = same_error(dir, "array.json", "[1, 2]\n");
  expect_mentions(m, {"array.json", "not a JSON object but array"});
  m = same_error(dir, "string.json", "\"plan\"");
  expect_mentions(m, {"string.json", "not a JSON object but string"});
  // "version" comes after "units" in the file: still its error, not the unit's.
  m = same_error(dir, "version_and_unit.json", variant([](json& j) {
                   j["version"] = 7;
                   j["units"][0].erase("id");
                 }));
  expect_mentions(m, {"version_and_unit.json", "version 7 is not supported"});
  // The first bad unit is the one named.
  m = same_error(dir, "two_bad_units.json", variant([](json& j) {
                   j["units"][1].erase("path");
                   j["units"][2].erase("id");
                 }));
  expect_mentions(m, {"two_bad_units.json", "unit 1:", "no 'path'"});
}

}  // namespace
}  // namespace ldmg
