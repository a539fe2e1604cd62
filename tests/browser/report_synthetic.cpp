// report_synthetic OUT [--pairs 1200] [--configs 3] [--seed 0]: a report site
// the size of an MS-CXR run (1,200 pairs x several heatmap configs) without
// running anything: random metrics, summaries by the evaluate code
// (bootstrap included), a distinct thumbnail and full overlay per row drawn
// by viz::render_overlay on a synthetic X-ray, a few skipped and failed rows.
// For the load-time benchmark (tests/browser/report_load_bench.py,
// bench/README.md), not a test.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "pipeline/evaluation_report.h"
#include "report/report_data.h"
#include "report/report_site.h"
#include "viz/overlay.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ldmg;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: report_synthetic OUT [--pairs 1200] [--configs 3] [--seed 0]\n";
    return 2;
  }
  const std::string out = fs::absolute(argv[1]).lexically_normal().string();
  int pairs = 1200, configs = 3;
  unsigned seed = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--pairs")
      pairs = std::atoi(argv[i + 1]);
    else if (k == "--configs")
      configs = std::atoi(argv[i + 1]);
    else if (k == "--seed")
      seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (pairs < 1 || configs < 1) {
    std::cerr << "--pairs and --configs must be at least 1\n";
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<std::string> categories = {"Atelectasis",  "Cardiomegaly",     "Consolidation", "Edema",
                                               "Lung Opacity", "Pleural Effusion", "Pneumonia",     "Pneumothorax"};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0, 1);
  std::normal_distribution<double> normal(0, 1);

  json data;
  data["format"] = report::kReportFormat;
  data["schema_version"] = report::kReportSchemaVersion;
  data["title"] = fmt::format("ldmground report: synthetic, {} pairs x {} configs", pairs, configs);
  data["metrics"] = json::array({json::array({"cnr_abs", "|CNR|"}), json::array({"cnr", "CNR"}),
                                 json::array({"miou", "mIoU"}), json::array({"auroc", "AUC-ROC"})});
  json columns = json::array();
  for (const char* c : report::kRowColumns) columns.push_back(c);
  data["columns"] = columns;
  data["categories"] = categories;
  data["run"] = {{"dir", out + " (synthetic)"},
                 {"units", pairs},
                 {"done", pairs},
                 {"failed", 0},
                 {"pending", 0},
                 {"complete", true},
                 {"pairs", pairs},
                 {"Ts", {300}},
                 {"configs", json::array()}};
  data["provenance"] = {{"version", "synthetic"},
                        {"model_digest", "none"},
                        {"settings", {{"inversion", "synthetic"}, {"outputs", "synthetic"}}},
                        {"files", json::object()},
                        {"job", {{"steps", "300"}}},
                        {"runs", json::array()}};
  data["failures"] = json::array();
  data["tables"] = json::array();
  data["search"] = json::array();
  data["figures"] = json::array();

  // One synthetic X-ray per pair (dark lungs, bright mediastinum, noise) and one box.
  const int W = 256, H = 256;
  struct PairInfo {
    std::string category, prompt;
    double bx, by, bw, bh;
    bool skipped, failed;
  };
  std::vector<PairInfo> info;
  for (int p = 0; p < pairs; ++p) {
    const std::string& c = categories[static_cast<std::size_t>(p) % categories.size()];
    info.push_back(
        {c, fmt::format("Synthetic finding {} of pair {}: {} in the {} lung.", p % 7, p, c, p % 2 ? "left" : "right"),
         20 + 150 * u01(rng), 20 + 150 * u01(rng), 30 + 50 * u01(rng), 30 + 50 * u01(rng), p % 50 == 7, p % 97 == 11});
  }
  viz::OverlayOptions thumb;
  thumb.max_side = 128;
  thumb.color_bar = false;
  thumb.box_thickness = 1;
  viz::OverlayOptions full;
  full.max_side = 512;

  json rows = json::array(), sources = json::array();
  std::vector<std::uint8_t> img(W * H);
  std::vector<float> heat(W * H);
  for (int c = 0; c < configs; ++c) {
    const std::string config = fmt::format("synthetic_config_{}", c);
    data["run"]["configs"].push_back(config);
    std::vector<pipeline::PairRow> prs;
    for (int p = 0; p < pairs; ++p) {
      const PairInfo& pi = info[static_cast<std::size_t>(p)];
      pipeline::PairRow r;
      r.pair = p;
      r.dicom_id = fmt::format("{:08x}-synthetic", p * 2654435761u);
      r.path = fmt::format("files/p{}/{}.jpg", p % 10, r.dicom_id);
      r.category = pi.category;
      r.prompt = pi.prompt;
      r.skipped = pi.skipped;
      if (pi.failed) r.error = fmt::format("cannot decode '{}': synthetic failure", r.path);
      const double cnr = 0.3 * c + normal(rng);
      r.metrics = {pi.category,
                   std::abs(cnr),
                   cnr,
                   std::clamp(0.2 + 0.1 * normal(rng), 0.0, 1.0),
                   std::clamp(0.6 + 0.1 * normal(rng), 0.0, 1.0),
                   0};
      r.metrics.auroc_exact = r.metrics.auroc;
      r.otsu_threshold = static_cast<float>(u01(rng));
      prs.push_back(r);
      json row = json::array();
      for (int k = 0; k < report::kRowColumnCount; ++k) row.push_back(nullptr);
      row[report::kSource] = c;
      row[report::kPair] = p;
      row[report::kCategory] = r.category;
      row[report::kPrompt] = r.prompt;
      row[report::kDicom] = r.dicom_id;
      row[report::kStatus] = pi.failed ? "failed" : pi.skipped ? "skipped" : "ok";
      if (pi.failed) row[report::kError] = r.error;
      if (!pi.failed && !pi.skipped) {
        row[report::kAbsCnr] = r.metrics.abs_cnr;
        row[report::kCnr] = r.metrics.cnr;
        row[report::kMiou] = r.metrics.miou;
        row[report::kAuroc] = r.metrics.auroc;
        row[report::kOtsu] = r.otsu_threshold;
        row[report::kTokens] = "synthetic finding of pair";
        // The picture: a gray chest-like image and a Gaussian blob near the box.
        const double cx = pi.bx + pi.bw / 2 + 20 * normal(rng), cy = pi.by + pi.bh / 2 + 20 * normal(rng);
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            const double lung = std::exp(-std::pow((std::abs(x - 128.0) - 60) / 35, 2) - std::pow((y - 130.0) / 80, 2));
            img[y * W + x] = static_cast<std::uint8_t>(std::clamp(200 - 140 * lung + 12 * normal(rng), 0.0, 255.0));
            const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            heat[y * W + x] = static_cast<float>(std::exp(-d2 / (2 * 30.0 * 30.0)));
          }
        const std::vector<viz::OverlayBox> boxes = {{pi.bx, pi.by, pi.bw, pi.bh}};
        const std::string name = fmt::format("s{}/{:04d}.png", c, p);
        fs::create_directories(fs::path(out) / "thumbs" / fmt::format("s{}", c));
        fs::create_directories(fs::path(out) / "overlays" / fmt::format("s{}", c));
        viz::render_overlay({W, H, img.data()}, heat.data(), boxes, "", thumb).save_png(out + "/thumbs/" + name);
        viz::render_overlay({W, H, img.data()}, heat.data(), boxes, r.prompt, full).save_png(out + "/overlays/" + name);
        row[report::kThumb] = "thumbs/" + name;
        row[report::kOverlay] = "overlays/" + name;
      }
      rows.push_back(std::move(row));
    }
    pipeline::ReportOptions ro;
    ro.title = config;
    json summary = pipeline::summary_json(prs, categories, ro, json::object());
    summary.erase("provenance");
    summary.erase("official_log");
    sources.push_back({{"id", c},
                       {"kind", "run"},
                       {"label", fmt::format("T=300 {}", config)},
                       {"dir", out},
                       {"T", 300},
                       {"config", config},
                       {"partial", false},
                       {"summary", summary}});
  }
  data["sources"] = sources;
  data["rows"] = rows;
  const std::string index = report::write_report_site(data, out);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << fmt::format("{} rows ({} pairs x {} configs), data.js {:.2f} MB, written in {:.1f} s\n{}\n", rows.size(),
                           pairs, configs, fs::file_size(out + "/data.js") / 1e6, s, index);
  return 0;
}
