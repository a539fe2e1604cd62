// `compare`: hand-made summary.json files side by side in Table I layout,
// labels, N agreement, missing categories, and malformed summaries.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "analysis/method_comparison.h"
#include "support/fixtures.h"

using namespace ldmg;
namespace fs = std::filesystem;

namespace {

nlohmann::json block(double base) {
  nlohmann::json b;
  const char* keys[] = {"abs_cnr", "cnr", "miou", "auroc", "auroc_exact"};
  for (int k = 0; k < 5; ++k)
    b[keys[k]] = {{"mean", base + 0.01 * k}, {"std", 0.5}, {"ci95", {base - 0.1, base + 0.1}}};
  return b;
}

std::string write_summary(const fs::path& dir, const std::vector<std::pair<std::string, int>>& cats, double base,
                          const nlohmann::json& provenance) {
  nlohmann::json s;
  s["title"] = "t";
  s["provenance"] = provenance;
  int total = 0;
  s["categories"] = nlohmann::json::array();
  for (std::size_t i = 0; i < cats.size(); ++i) {
    nlohmann::json c = block(base + static_cast<double>(i));
    c["name"] = cats[i].first;
    c["n"] = cats[i].second;
    total += cats[i].second;
    s["categories"].push_back(c);
  }
  s["average"] = block(base + 10);
  s["pairs"] = {{"total", total}, {"scored", total}, {"skipped", 0}, {"failed", 0}};
  fs::create_directories(dir);
  std::ofstream(dir / "summary.json") << s.dump(2);
  return dir.string();
}

}  // namespace

TEST(MethodComparison, TableIWithOneColumnGroupPerMethod) {
  const fs::path d = test::temp_dir("compare");
  const std::string a = write_summary(d / "ours", {{"Edema", 3}, {"Pneumonia", 2}}, 1.0, {{"tool", "evaluate"}});
  const std::string b =
      write_summary(d / "b", {{"Edema", 3}, {"Pneumonia", 1}, {"Atelectasis", 4}}, 2.0, {{"method", "BioViL"}});
  const auto t =
      analysis::compare_methods({analysis::read_method_summary(a), analysis::read_method_summary("MedRPG=" + b)});
  // Header: one group (|CNR|, CNR, mIoU %, AUC-ROC %) per method, labels from the folder and from LABEL=.
  EXPECT_NE(
      t.markdown.find("| Pathology | N | ours \\|CNR\\| | ours CNR | ours mIoU % | ours AUC-ROC % | MedRPG \\|CNR\\| "
                      "| MedRPG CNR | MedRPG mIoU % | MedRPG AUC-ROC % |\n|---|---|---|---|---|---|---|---|---|---|\n"),
      std::string::npos)
      << t.markdown;
  // Edema: N agrees; ours 1.00/1.01/102.00/103.00 %, MedRPG 2.00/2.01/202.00/203.00 %; std scaled too.
  EXPECT_NE(t.markdown.find("| Edema | 3 | 1.00 ± 0.50 | 1.01 ± 0.50 | 102.00 ± 50.00 | 103.00 ± 50.00 | 2.00 ± 0.50 | "
                            "2.01 ± 0.50 | 202.00 ± 50.00 | 203.00 ± 50.00 |\n"),
            std::string::npos)
      << t.markdown;
  // Pneumonia: N differs -> both; Atelectasis: missing for ours -> "–"; Avg: N = pairs scored.
  EXPECT_NE(t.markdown.find("| Pneumonia | 2/1 | 2.00 ± 0.50 |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| Atelectasis | –/4 | – | – | – | – | 4.00 ± 0.50 |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| Avg | 5/8 | 11.00 ± 0.50 |"), std::string::npos) << t.markdown;
  // CSV: long format, mIoU and AUC in %, intervals too.
  EXPECT_EQ(t.csv.substr(0, t.csv.find('\n')),
            "method,pathology,n,abs_cnr_mean,abs_cnr_std,abs_cnr_ci95_low,abs_cnr_ci95_high,cnr_mean,cnr_std,"
            "cnr_ci95_low,cnr_ci95_high,miou_pct_mean,miou_pct_std,miou_pct_ci95_low,miou_pct_ci95_high,"
            "auroc_pct_mean,auroc_pct_std,auroc_pct_ci95_low,auroc_pct_ci95_high,auroc_exact_pct_mean,"
            "auroc_exact_pct_std,auroc_exact_pct_ci95_low,auroc_exact_pct_ci95_high,source");
  EXPECT_NE(t.csv.find("\nMedRPG,Atelectasis,4,4,0.5,3.9,4.1,4.01,0.5,"), std::string::npos) << t.csv;
  const auto j = nlohmann::json::parse(t.json);
  EXPECT_EQ(j["methods"][0]["rows"].size(), 3u);  // Edema, Pneumonia, Avg
  EXPECT_EQ(j["methods"][1]["rows"][2]["pathology"], "Atelectasis");
  EXPECT_EQ(j["methods"][1]["rows"][2]["miou"]["mean"].get<double>(), 4.02);
  // Without a label, score's provenance.method names the method.
  EXPECT_EQ(analysis::read_method_summary(b).label, "BioViL");
}

TEST(MethodComparison, MalformedSummariesNameFileAndKey) {
  const fs::path d = test::temp_dir("compare_bad");
  test::expect_error_mentions([&] { analysis::read_method_summary((d / "none").string()); }, {"none", "summary.json"});
  fs::create_directories(d / "bad");
  std::ofstream(d / "bad" / "summary.json") << R"({"categories": [{"name": "Edema", "n": 2}], "average": {},)"
                                               R"( "pairs": {"scored": 2}})";
  test::expect_error_mentions([&] { analysis::read_method_summary((d / "bad").string()); },
                              {"bad/summary.json", "categories[0].abs_cnr"});
  std::ofstream(d / "bad" / "summary.json") << "{not json";
  test::expect_error_mentions([&] { analysis::read_method_summary((d / "bad").string()); }, {"summary.json", "JSON"});
}
