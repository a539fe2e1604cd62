// What the sweep's start-up sends between ranks and writes, checked against
// the slow, obvious way: the dataset codec round-trips every field (also odd
// bytes) and refuses damaged bytes; the plan from broadcast digests equals
// the plan that hashes the images itself; plan_json_text is byte for byte the
// dump of the whole JSON tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "core/sha256.h"
#include "data/ms_cxr.h"
#include "support/fixtures.h"
#include "sweep/dataset_codec.h"
#include "sweep/sweep_plan.h"

namespace ldmg {
namespace {

data::Pair pair(int index, std::string prompt, std::string path, std::vector<data::Box> boxes) {
  data::Pair p;
  p.index = index;
  p.dicom_id = "dicom-" + std::to_string(index);
  p.category = index % 2 ? "Pneumonia" : "Pleural Effusion";
  p.prompt = std::move(prompt);
  p.path = path;
  p.image_path = "/root/" + path;
  p.split = index == 2 ? "test" : "";
  p.boxes = std::move(boxes);
  p.csv_width = 2544 + index;
  p.csv_height = 3056;
  p.rows = {2 * index + 1, 2 * index + 2};
  return p;
}

data::MsCxrDataset odd_dataset() {
  return data::MsCxrDataset(
      "grid.csv", {pair(0, "small left effusion", "p10/a.jpg", {{1, 2, 3, 4}}),
                   pair(1, std::string("nul \0 inside, \"quoted\", ü, \n newline", 38), "p10/b.jpg",
                        {{0, 0, 1, 1}, {-5, 2147483647, 7, 8}}),
                   pair(2, "", "p11/c.jpg", {})});
}

void expect_same(const data::MsCxrDataset& a, const data::MsCxrDataset& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.source(), b.source());
  EXPECT_EQ(a.categories(), b.categories());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const data::Pair &x = a[i], &y = b[i];
    EXPECT_EQ(x.index, y.index);
    EXPECT_EQ(x.dicom_id, y.dicom_id);
    EXPECT_EQ(x.category, y.category);
    EXPECT_EQ(x.prompt, y.prompt);
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.image_path, y.image_path);
    EXPECT_EQ(x.split, y.split);
    EXPECT_EQ(x.boxes, y.boxes);
    EXPECT_EQ(x.csv_width, y.csv_width);
    EXPECT_EQ(x.csv_height, y.csv_height);
    EXPECT_EQ(x.rows, y.rows);
  }
}

TEST(SweepStartup, DatasetBytesRoundTripEveryField) {
  const data::MsCxrDataset ds = odd_dataset();
  ASSERT_EQ(ds[1].prompt.size(), 38u);  // the NUL is inside the string
  expect_same(ds, sweep::decode_dataset(sweep::encode_dataset(ds)));
  expect_same(data::MsCxrDataset("empty.csv", {}), sweep::decode_dataset(sweep::encode_dataset(data::MsCxrDataset("empty.csv", {}))));
}

TEST(SweepStartup, DamagedDatasetBytesAreRefused) {
  const std::string bytes = sweep::encode_dataset(odd_dataset());
  for (std::size_t cut : {std::size_t{0}, std::size_t{10}, bytes.size() / 2, bytes.size() - 1})
    EXPECT_THROW(sweep::decode_dataset(bytes.substr(0, cut)), Error) << "cut at " << cut;
  EXPECT_THROW(sweep::decode_dataset(bytes + "x"), Error);
  std::string huge_count = bytes;
  huge_count[sizeof("ldmg.dataset.v1") - 1 + 7] = '\x7f';  // the source's length: 2^62 and more
  EXPECT_THROW(sweep::decode_dataset(huge_count), Error);
}

TEST(SweepStartup, PlanFromBroadcastDigestsEqualsPlanFromImages) {
  const std::string dir = test::temp_dir("sweep_startup_plan");
  std::filesystem::create_directories(dir + "/p10");
  std::ofstream(dir + "/p10/a.jpg") << "image a";
  std::ofstream(dir + "/p10/b.jpg") << "image b";  // p11/c.jpg is missing: a "missing:" digest
  std::vector<data::Pair> pairs = odd_dataset().pairs();
  for (auto& p : pairs) p.image_path = dir + "/" + p.path;
  pairs.push_back(pair(3, "second prompt of a", "p10/a.jpg", {{5, 6, 7, 8}}));
  pairs.back().image_path = dir + "/p10/a.jpg";
  const data::MsCxrDataset ds("grid.csv", pairs);
  const std::vector<int> selected = {0, 1, 2, 3};
  const sweep::SweepSettings settings{"inv", "out", "model", "code"};

  const std::vector<std::string> digests = sweep::image_digests(ds, selected);
  ASSERT_EQ(digests.size(), 3u);  // three images, a.jpg with two pairs
  EXPECT_EQ(digests[0], sha256_hex("image a"));
  EXPECT_EQ(digests[2], sha256_hex("missing:p11/c.jpg"));
  const sweep::SweepPlan a = sweep::make_sweep_plan(ds, selected, {10, 20}, settings);
  const sweep::SweepPlan b = sweep::make_sweep_plan(ds, selected, {10, 20}, settings, digests);
  EXPECT_EQ(sweep::plan_to_json(a), sweep::plan_to_json(b));
  ASSERT_EQ(b.units.size(), 6u);
  EXPECT_EQ(b.units[0].pairs, (std::vector<int>{0, 3}));
  EXPECT_THROW(sweep::make_sweep_plan(ds, selected, {10}, settings, {digests[0], digests[1]}), Error);
}

TEST(SweepStartup, PlanTextIsTheDumpOfTheWholeTree) {
  sweep::SweepPlan plan;
  plan.Ts = {10, 300};
  plan.pairs = {0, 1};
  plan.settings = {"spacing=trailing;\"units\": []", "cache=full", "m", "v1\n"};
  EXPECT_EQ(sweep::plan_json_text(plan), sweep::plan_to_json(plan).dump(1) + "\n");  // no units
  for (int i = 0; i < 3; ++i) {
    sweep::SweepUnit u;
    u.id = "id" + std::to_string(i);
    u.T = 10;
    u.image_path = "/images/p" + std::to_string(i) + "\n.jpg";
    u.path = "p.jpg";
    u.image_sha256 = std::string(64, 'a');
    u.pairs = i == 1 ? std::vector<int>{} : std::vector<int>{i, i + 1};
    plan.units.push_back(u);
    EXPECT_EQ(sweep::plan_json_text(plan), sweep::plan_to_json(plan).dump(1) + "\n") << i + 1 << " unit(s)";
  }
}

}  // namespace
}  // namespace ldmg
