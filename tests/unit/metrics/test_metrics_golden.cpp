// Metrics of every golden pair, computed on OUR back-mapped heatmap (the whole
// chain from the golden layer_token_mean), and the per-category / summary
// statistics of metrics.json and output.log.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "grounding/golden_chain.h"
#include "metrics/aggregate.h"
#include "metrics/auroc.h"
#include "metrics/cnr.h"
#include "metrics/miou.h"

using namespace ldmg;
using namespace ldmg::metrics;

namespace {

std::vector<Box> boxes_of(const nlohmann::json& e) {
  std::vector<Box> b;
  for (const auto& r : e.at("original_bbox")) b.push_back({r[0].get<std::int64_t>(), r[1].get<std::int64_t>(),
                                                           r[2].get<std::int64_t>(), r[3].get<std::int64_t>()});
  return b;
}

double json_num(const nlohmann::json& j) { return j.is_null() ? NAN : j.get<double>(); }

bool near_or_both_nan(double a, double b, double tol) {
  return (std::isnan(a) && std::isnan(b)) || std::abs(a - b) <= tol;
}

struct RunMetrics {
  std::vector<PairMetrics> ours, golden;
};

RunMetrics evaluate_run(const std::string& run) {
  const auto meta = test::load_json(test::golden_dir(run) + "/metrics.json");
  std::map<int, std::pair<std::int64_t, std::int64_t>> size_of_pair;  // (w, h)
  for (const auto& s : meta.at("per_sample"))
    if (s.contains("sim_map_orig_shape"))
      size_of_pair[s.at("pair_index").get<int>()] = {s.at("sim_map_orig_shape")[1].get<std::int64_t>(),
                                                     s.at("sim_map_orig_shape")[0].get<std::int64_t>()};
  RunMetrics out;
  double err_abs = 0, err_cnr = 0, err_miou = 0, err_auc = 0, err_exact = 0;
  int n = 0;
  for (const auto& s : meta.at("per_sample")) {
    if (s.at("skipped").get<bool>()) continue;
    const std::string key = s.at("key");
    const bool t3 = key.rfind("t3_", 0) == 0;
    const auto g = test::load_golden(test::golden_dir(run) + "/" + s.at("file").get<std::string>());
    const bool no_tokens = t3 && s.at("cls_token_positions").empty();
    const auto [w, h] = size_of_pair.at(s.at("pair_index").get<int>());
    const test::ChainOutput c = test::run_golden_chain(g, no_tokens, w, h);
    const MapView view{c.orig.data_ptr<float>(), h, w};
    const std::vector<Box> boxes = boxes_of(s);
    const CnrValue cv = cnr(view, boxes);
    PairMetrics ours{s.at("category").get<std::string>(), cv.abs_cnr, cv.cnr, miou(view, boxes), auroc_binned(view, boxes),
                     auroc_exact(view, boxes)};
    PairMetrics gold{s.at("category").get<std::string>(), json_num(s.at("CNR")), json_num(s.at("CNR_nonabs")), json_num(s.at("mIoU")),
                     json_num(s.at("AUC_ROC")), NAN};
    SCOPED_TRACE(run + " " + key);
    EXPECT_NEAR(ours.abs_cnr, gold.abs_cnr, 1e-3);
    EXPECT_NEAR(ours.cnr, gold.cnr, 1e-3);
    EXPECT_NEAR(ours.miou, gold.miou, 1e-3);
    EXPECT_NEAR(ours.auroc, gold.auroc, 1e-3);
    err_abs = std::max(err_abs, std::abs(ours.abs_cnr - gold.abs_cnr));
    err_cnr = std::max(err_cnr, std::abs(ours.cnr - gold.cnr));
    err_miou = std::max(err_miou, std::abs(ours.miou - gold.miou));
    err_auc = std::max(err_auc, std::abs(ours.auroc - gold.auroc));
    if (s.contains("AUC_ROC_exact_nan_excluded_NOT_OFFICIAL")) {
      const double ge = json_num(s.at("AUC_ROC_exact_nan_excluded_NOT_OFFICIAL"));
      EXPECT_TRUE(near_or_both_nan(ours.auroc_exact, ge, 1e-3)) << ours.auroc_exact << " vs " << ge;
      err_exact = std::max(err_exact, std::abs(ours.auroc_exact - ge));
    }
    ++n;
    if (!t3) {
      out.ours.push_back(ours);
      out.golden.push_back(gold);
    }
  }
  std::printf("[%s] %d pairs: max |err| |CNR| %.3g, CNR %.3g, mIoU %.3g, AUC %.3g, exact AUC %.3g\n", run.c_str(), n,
              err_abs, err_cnr, err_miou, err_auc, err_exact);
  return out;
}

// The final block of the official log without logging's "date time,ms - " prefixes.
std::string official_log_tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const std::size_t at = text.rfind("MS-CXR results (len=");
  if (at == std::string::npos) return {};
  const std::regex prefix(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - )");
  std::string out;
  std::istringstream lines(text.substr(at));
  for (std::string line; std::getline(lines, line);) out += std::regex_replace(line, prefix, "") + "\n";
  return out;
}

}  // namespace

TEST(MetricsGolden, PairsCategoriesAndSummary) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  for (const std::string run : {"T20", "T50", "T20_libstep"}) {
    const auto meta = test::load_json(test::golden_dir(run) + "/metrics.json");
    const auto classes = meta.at("class_names_order").get<std::vector<std::string>>();
    const RunMetrics rm = evaluate_run(run);
    const Metric ms[] = {Metric::AbsCnr, Metric::Cnr, Metric::Miou, Metric::Auroc};
    double err_gold = 0, err_ours = 0;
    for (const auto* pairs : {&rm.golden, &rm.ours}) {
      const double tol = pairs == &rm.golden ? 1e-6 : 1e-3;
      double& err = pairs == &rm.golden ? err_gold : err_ours;
      const auto cats = per_category(*pairs, classes);
      for (const CategoryStats& c : cats) {
        const auto& jc = meta.at("per_category").at(c.name);
        EXPECT_EQ(c.n, jc.at("n").get<std::size_t>());
        for (Metric m : ms)
          for (const char* field : {"mean", "std"}) {
            const double want = json_num(jc.at(to_string(m)).at(field));
            const double got = std::string(field) == "mean" ? c.get(m).mean : c.get(m).std;
            EXPECT_TRUE(near_or_both_nan(got, want, tol)) << run << " " << c.name << " " << to_string(m) << " " << field;
            err = std::max(err, std::abs(got - want));
          }
      }
      const Summary s = summarize(cats);
      for (Metric m : ms)
        for (const char* field : {"mean", "std"}) {
          const double want = json_num(meta.at("summary").at(to_string(m)).at(field));
          const double got = std::string(field) == "mean" ? s.get(m).mean : s.get(m).std;
          EXPECT_TRUE(near_or_both_nan(got, want, tol)) << run << " summary " << to_string(m) << " " << field;
          err = std::max(err, std::abs(got - want));
        }
      if (pairs == &rm.golden) {
        // The official log's final block, reproduced from the golden per-pair values.
        const std::size_t len = meta.at("per_sample").size() - meta.at("table3").size();
        EXPECT_EQ(official_summary_text(cats, len), official_log_tail(test::golden_dir(run) + "/output.log"));
      }
    }
    std::printf("[%s] per-category + summary: from golden pairs max err %.3g, from our pairs %.3g\n", run.c_str(),
                err_gold, err_ours);
  }
}
