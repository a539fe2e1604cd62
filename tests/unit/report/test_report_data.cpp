// gather_report_data on a small run folder written here with the sweep's own
// writers: one finished unit (a scored and a skipped pair), one failed unit,
// one pending; the numbers on the page must be the ones written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "io/file_bytes.h"
#include "pipeline/evaluation_report.h"
#include "report/report_data.h"
#include "report/report_site.h"
#include "support/fixtures.h"
#include "sweep/ledger.h"
#include "sweep/sweep_plan.h"
#include "sweep/unit_result.h"

namespace ldmg::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kOk = "0123456789abcdef01234567", kFailed = "89abcdef0123456789abcdef",
                  kPending = "fedcba9876543210fedcba98";
const std::string kMain = "L3,4,6,7_Wpaper_Tall_otsu_s2.5_code",
                  kAblation = "L0,1,2,3,4,5,6,7,8,9,10_Wpaper_Tall_nootsu_s2.5_code";

pipeline::PairRow scored(int pair, const std::string& category, double miou, double cnr) {
  pipeline::PairRow r;
  r.pair = pair;
  r.dicom_id = "d" + std::to_string(pair);
  r.path = "files/img" + std::to_string(pair) + ".png";
  r.category = category;
  r.prompt = "prompt, \"quoted\" " + std::to_string(pair);
  r.metrics = {category, std::abs(cnr), cnr, miou, 0.75, 0.76};
  r.otsu_threshold = 0.25f;
  return r;
}

// dataset: pairs 0-3 (pair 2 and 3 on images of their own).
std::string write_run(const std::string& root) {
  const std::string run = root + "/run";
  fs::create_directories(run);
  std::ofstream(root + "/ms_cxr.csv") << "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height\n"
                                         "d0,Edema,prompt 0,files/img0.png,1,1,5,5,32,32\n"
                                         "d0,Atelectasis,prompt 1,files/img0.png,2,2,5,5,32,32\n"
                                         "d2,Edema,left effusion,files/img2.png,1,1,5,5,32,32\n"
                                         "d3,Edema,prompt 3,files/img3.png,1,1,5,5,32,32\n";
  std::ofstream(run + "/job.ini") << "# written by the test\ndataset = " << root << "/ms_cxr.csv\nsteps = 10\n"
                                  << "bootstrap = 50\nseed = 0\nconfig = layers=all;window=paper;otsu=off\n";
  sweep::SweepPlan plan;
  plan.Ts = {10};
  plan.pairs = {0, 1, 2, 3};
  plan.settings = {"spacing=trailing", "cache=none", "digest0", "v-test"};
  plan.units = {{kOk, 10, root + "/files/img0.png", "files/img0.png", std::string(64, 'a'), {0, 1}},
                {kFailed, 10, root + "/files/img2.png", "files/img2.png", std::string(64, 'b'), {2}},
                {kPending, 10, root + "/files/img3.png", "files/img3.png", std::string(64, 'c'), {3}}};
  io::write_file_atomic(sweep::plan_path(run), sweep::plan_to_json(plan).dump(1));

  sweep::UnitResult res;
  res.unit_id = kOk;
  res.T = 10;
  res.configs = {kMain, kAblation};
  pipeline::PairRow skipped = scored(1, "Atelectasis", 0, 0);
  skipped.skipped = true;
  res.rows = {{scored(0, "Edema", 0.125, -0.5), scored(0, "Edema", 0.375, 1.5)}, {skipped, skipped}};
  sweep::write_unit_result(run, res);
  fs::create_directories(run + "/ledger");
  std::ofstream(run + "/ledger/rank0.jsonl")
      << sweep::format_ledger_line({kOk, sweep::UnitStatus::ok, "", 1.5, 0, "2026-01-01T00:00:00.000000Z"})
      << sweep::format_ledger_line({kFailed, sweep::UnitStatus::failed, "cannot decode 'files/img2.png'", 0.1, 1,
                                    "2026-01-01T00:00:01.000000Z"});
  return run;
}

json row_of(const json& data, int source, int pair) {
  for (const json& r : data["rows"])
    if (r[kSource] == source && r[kPair] == pair) return r;
  ADD_FAILURE() << "no row for source " << source << " pair " << pair;
  return json();
}

TEST(ReportData, RunInProgressShowsWhatIsDone) {
  const std::string root = test::temp_dir("report_data");
  const json d = gather_report_data({write_run(root), {}, {}});

  EXPECT_EQ(d["format"], kReportFormat);
  EXPECT_EQ(d["run"]["units"], 3);
  EXPECT_EQ(d["run"]["done"], 1);
  EXPECT_EQ(d["run"]["failed"], 1);
  EXPECT_EQ(d["run"]["pending"], 1);
  EXPECT_FALSE(d["run"]["complete"].get<bool>());
  ASSERT_EQ(d["sources"].size(), 2u);
  EXPECT_EQ(d["sources"][0]["config"], kMain);
  EXPECT_EQ(d["sources"][1]["config"], kAblation);
  EXPECT_TRUE(d["sources"][0]["partial"].get<bool>());
  EXPECT_EQ(d["categories"], json({"Edema", "Atelectasis"}));  // dataset order

  // 3 recorded pairs (0, 1 done; 2 failed) x 2 configs; the pending pair 3 is not shown.
  ASSERT_EQ(d["rows"].size(), 6u);
  ASSERT_EQ(d["columns"].size(), static_cast<std::size_t>(kRowColumnCount));
  const json ok = row_of(d, 0, 0), ok2 = row_of(d, 1, 0), sk = row_of(d, 0, 1), failed = row_of(d, 1, 2);
  EXPECT_EQ(ok[kStatus], "ok");
  EXPECT_EQ(ok[kMiou].get<double>(), 0.125);
  EXPECT_EQ(ok[kCnr].get<double>(), -0.5);
  EXPECT_EQ(ok[kAbsCnr].get<double>(), 0.5);
  EXPECT_EQ(ok[kOtsu].get<double>(), 0.25);
  EXPECT_EQ(ok[kPrompt], "prompt, \"quoted\" 0");
  EXPECT_EQ(ok2[kMiou].get<double>(), 0.375);
  EXPECT_EQ(sk[kStatus], "skipped");
  EXPECT_TRUE(sk[kMiou].is_null());
  EXPECT_EQ(failed[kStatus], "failed");
  EXPECT_EQ(failed[kError], "cannot decode 'files/img2.png'");
  EXPECT_EQ(failed[kPrompt], "left effusion");  // from the dataset: a failed unit has no rows
  EXPECT_TRUE(ok[kThumb].is_null());            // pictures come from report_images

  // The summary over what is done: one scored Edema pair per source (mean = its value, std 0).
  const json& s0 = d["sources"][0]["summary"];
  EXPECT_EQ(s0["pairs"]["scored"], 1);
  EXPECT_EQ(s0["pairs"]["skipped"], 1);
  EXPECT_EQ(s0["pairs"]["failed"], 1);
  const json& edema = s0["categories"][0];
  EXPECT_EQ(edema["name"], "Edema");
  EXPECT_EQ(edema["n"], 1);
  EXPECT_DOUBLE_EQ(edema["miou"]["mean"].get<double>(), 0.125);
  EXPECT_DOUBLE_EQ(edema["miou"]["std"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(d["sources"][1]["summary"]["categories"][0]["cnr"]["mean"].get<double>(), 1.5);

  ASSERT_EQ(d["failures"].size(), 1u);
  EXPECT_EQ(d["failures"][0]["unit"], kFailed);
  EXPECT_EQ(d["failures"][0]["rank"], 1);
  EXPECT_EQ(d["failures"][0]["pairs"], json({2}));
  EXPECT_EQ(d["provenance"]["version"], "v-test");
  EXPECT_EQ(d["provenance"]["job"]["config"], "layers=all;window=paper;otsu=off");
}

TEST(ReportData, ScoreFolderSitsBesideTheRun) {
  const std::string root = test::temp_dir("report_score");
  const std::string run = write_run(root), score = root + "/score";
  const std::vector<pipeline::PairRow> rows = {scored(0, "Edema", 0.5, 2.0), scored(3, "Edema", 0.25, -1.0)};
  pipeline::write_evaluation_report(score, rows, {"Edema"}, {}, json{{"T", 10}, {"heatmap_config", kMain}});
  const json d = gather_report_data({run, {}, {score}});
  ASSERT_EQ(d["sources"].size(), 3u);
  EXPECT_EQ(d["sources"][2]["kind"], "score");
  EXPECT_EQ(d["sources"][2]["T"], 10);
  EXPECT_EQ(d["sources"][2]["config"], kMain);
  EXPECT_DOUBLE_EQ(d["sources"][2]["summary"]["categories"][0]["miou"]["mean"].get<double>(), 0.375);
  EXPECT_EQ(row_of(d, 2, 3)[kMiou].get<double>(), 0.25);  // CSV round trip
  EXPECT_EQ(row_of(d, 2, 0)[kCnr].get<double>(), 2.0);
  EXPECT_EQ(d["rows"].size(), 8u);

  // The site: page assets embedded from src/report/assets and the data as a script.
  const std::string site = root + "/site";
  EXPECT_EQ(write_report_site(d, site), site + "/index.html");
  for (const char* f : {"index.html", "report.js", "report.css", "data.js"})
    EXPECT_TRUE(fs::exists(site + "/" + f)) << f;
  EXPECT_NE(io::read_file_bytes(site + "/index.html").find("<script src=\"data.js\"></script>"), std::string::npos);
  const std::string js = io::read_file_bytes(site + "/data.js");
  const std::string prefix = "window.LDMG_REPORT = ";
  ASSERT_EQ(js.compare(0, prefix.size(), prefix), 0);
  EXPECT_EQ(json::parse(js.substr(prefix.size(), js.size() - prefix.size() - 2)), d);
}

TEST(ReportData, ErrorsNameWhatIsWrong) {
  const std::string root = test::temp_dir("report_errors");
  test::expect_error_mentions([&] { gather_report_data({root, {}, {}}); }, {root, "plan.json"});
  const std::string run = write_run(root);
  fs::create_directories(root + "/empty");
  test::expect_error_mentions([&] { gather_report_data({run, {}, {root + "/empty"}}); }, {"--score", "empty"});
  test::expect_error_mentions(
      [&] {
        gather_report_data({run, {root + "/empty"}, {}});
      },
      {"--analysis", "nothing to show"});
  std::ofstream(root + "/bad.csv") << "pair,dicom_id,path,category,prompt,skipped,cnr_abs,cnr,miou,auroc,auroc_exact\n"
                                      "0,d,p,Edema,x,0,1.0,abc,0.1,0.5,0.5\n";
  test::expect_error_mentions([&] { rows_from_pairs_csv(root + "/bad.csv", 0); }, {"bad.csv", "line 2", "cnr", "abc"});
}

}  // namespace
}  // namespace ldmg::report
