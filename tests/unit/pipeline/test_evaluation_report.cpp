#include <gtest/gtest.h>

#include <cmath>

#include "pipeline/evaluation_report.h"

using namespace ldmg;
using namespace ldmg::pipeline;

namespace {
PairRow row(int pair, const std::string& cat, double v) {
  PairRow r;
  r.pair = pair;
  r.dicom_id = "d" + std::to_string(pair);
  r.path = "files/p" + std::to_string(pair) + ".jpg";
  r.category = cat;
  r.prompt = "Opacity, \"left\" base.";
  r.metrics.category = cat;
  r.metrics.abs_cnr = v;
  r.metrics.cnr = -v;
  r.metrics.miou = v / 10;
  r.metrics.auroc = 0.5 + v / 10;
  r.metrics.auroc_exact = 0.5;
  return r;
}
}  // namespace

TEST(EvaluationReport, PairsCsvQuotesAndMarksSkippedAndFailed) {
  std::vector<PairRow> rows = {row(0, "Edema", 1.5), row(1, "Edema", 0.5)};
  rows[1].skipped = true;
  rows.push_back(row(2, "Pneumonia", 0.25));
  rows[2].error = "bad image";
  const std::string csv = pairs_csv(rows, "");
  EXPECT_EQ(csv,
            "pair,dicom_id,path,category,prompt,skipped,cnr_abs,cnr,miou,auroc,auroc_exact\n"
            "0,d0,files/p0.jpg,Edema,\"Opacity, \"\"left\"\" base.\",0,1.5,-1.5,0.15,0.65,0.5\n"
            "1,d1,files/p1.jpg,Edema,\"Opacity, \"\"left\"\" base.\",1,,,,,\n"
            "2,d2,files/p2.jpg,Pneumonia,\"Opacity, \"\"left\"\" base.\",error,,,,,\n");
}

TEST(EvaluationReport, SummaryHasPerCategoryMeansAndMacroAverage) {
  const std::vector<PairRow> rows = {row(0, "Edema", 1.0), row(1, "Edema", 3.0), row(2, "Pneumonia", 1.0)};
  ReportOptions o;
  o.bootstrap.resamples = 200;
  const auto s = summary_json(rows, {"Edema", "Pneumonia", "Atelectasis"}, o, {{"version", "test"}});
  // Edema: mean 2, population std 1; Pneumonia: 1, 0; Atelectasis empty -> null.
  EXPECT_DOUBLE_EQ(s["categories"][0]["abs_cnr"]["mean"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(s["categories"][0]["abs_cnr"]["std"].get<double>(), 1.0);
  EXPECT_TRUE(s["categories"][2]["abs_cnr"]["mean"].is_null());
  // The authors' Avg over ALL classes of the CSV: an empty class makes it NaN (null).
  EXPECT_TRUE(s["average"]["abs_cnr"]["mean"].is_null());
  const auto ci = s["categories"][0]["abs_cnr"]["ci95"];
  EXPECT_GE(ci[0].get<double>(), 1.0);
  EXPECT_LE(ci[1].get<double>(), 3.0);
  const std::string md = summary_markdown(s);
  EXPECT_NE(md.find("Edema (N=2)"), std::string::npos);
  EXPECT_NE(md.find("| \\|CNR\\| | 2.00 ± 1.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("mIoU %"), std::string::npos);
}

TEST(EvaluationReport, BootstrapZeroGivesNoIntervals) {
  const std::vector<PairRow> rows = {row(0, "Edema", 1.5), row(1, "Edema", 0.5)};
  ReportOptions o;
  o.bootstrap.resamples = 0;
  const auto s = summary_json(rows, {"Edema"}, o, {{"version", "test"}});
  EXPECT_DOUBLE_EQ(s["average"]["abs_cnr"]["mean"].get<double>(), 1.0);
  EXPECT_TRUE(s["average"]["abs_cnr"]["ci95"][0].is_null());
  EXPECT_TRUE(s["categories"][0]["miou"]["ci95"][1].is_null());
  const std::string md = summary_markdown(s);
  EXPECT_EQ(md.find("Bootstrap"), std::string::npos);
  EXPECT_NE(md.find("| 1.00 ± 0.50 |"), std::string::npos) << md;
}
