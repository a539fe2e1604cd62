// `ldmground analyze`: heatmaps and every metric recomputed from a sweep's
// attention cache for one config or a grid, without the model; optionally
// the paper's tables (analysis/offline_analysis.h, analysis/paper_tables.h).
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "analysis/heatmap_export.h"
#include "analysis/offline_analysis.h"
#include "analysis/paper_tables.h"
#include "analysis/search_space.h"
#include "cli/job_file.h"
#include "cli/options.h"
#include "core/check.h"
#include "core/log.h"
#include "core/threads.h"
#include "core/version.h"
#include "io/file_bytes.h"
#include "sweep/mpi_env.h"

namespace ldmg::cli {

int run_analyze(int argc, char** argv) {
  RunFolderCommand cmd("analyze", "job file of these options (e.g. search's best.ini: 'config = SPEC' lines)",
                       "output folder: OUT/T<T>/<config>/{pairs.csv,summary.*}");
  cmd.options().add_options()
      ("grid", po::value<std::string>(), "file of heatmap configs, one spec per line ('layers=all;window=0:20;otsu=off'"
       " or 'config = SPEC'); replaces --layers..--order")
      ("config", po::value<std::vector<std::string>>()->composing(), "a heatmap config spec (repeatable); with "
       "--grid or instead of --layers..--order")
      ("layers", po::value<std::string>()->default_value("3,4,6,7"), "attn2 layers: '3,4,6,7' or 'all'")
      ("window", po::value<std::string>()->default_value("paper"), "inversion steps A:B or 'paper'")
      ("tokens", po::value<std::string>()->default_value("all"), "all | pathology | i:j")
      ("otsu", po::value<std::string>()->default_value("on"), "on | off")
      ("sigma", po::value<double>()->default_value(2.5), "Gaussian sigma (0 = none)")
      ("order", po::value<std::string>()->default_value("code"), "code | paper (token mean vs per-token min-max)")
      ("steps,T", po::value<std::vector<int>>()->composing(), "only this T of the run (repeatable; default: all)")
      ("sweep-configs", po::bool_switch(), "analyze the sweep's own configs (from job.ini)")
      ("fast", po::bool_switch(), "prefix sums + one resize per size + weighted 512-grid metrics (equal up to "
       "float rounding; the default is the online code: the sweep's own configs give its pairs.csv byte for byte "
       "from a float32 cache, within 1e-3 from the float16 default)")
      ("tables", po::bool_switch(), "also write OUT/tables.{md,csv,tex} (paper Tables I-III) from the results")
      ("heatmaps", po::value<std::string>(), "pair indices 'i,j,..': also write OUT/T<T>/<config>/heatmaps.h5 with "
       "their final heatmaps (exact path), images, boxes and metrics (for analysis/plot_overlays.py)");
  if (!cmd.parse(argc, argv,
                 "[--grid FILE | --layers L --window W --tokens K --otsu on|off --sigma S --order O] [--steps T] "
                 "[--fast] [--tables]",
                 "Recomputes the heatmaps and metrics of every pair of a finished sweep from its attention cache\n"
                 "(no model needed) for one heatmap config or a grid of them."))
    return 0;
  const po::variables_map& vm = cmd.vm();
  const analysis::RunInputs& run = cmd.run();
  sweep::MpiEnv& env = cmd.env();
  analysis::AnalysisOptions o;
  if (vm.count("grid")) {
    const std::string g = vm["grid"].as<std::string>();
    o.configs = analysis::parse_grid(io::read_file_bytes(g), g);
  }
  if (vm.count("config"))
    for (const auto& s : vm["config"].as<std::vector<std::string>>()) o.configs.push_back(pipeline::parse_heatmap_spec(s));
  if (vm["sweep-configs"].as<bool>())
    for (const auto& c : run.configs()) o.configs.push_back(c);
  if (o.configs.empty())
    o.configs.push_back(pipeline::make_heatmap_config(vm["layers"].as<std::string>(), vm["window"].as<std::string>(),
                                                    vm["tokens"].as<std::string>(), vm["otsu"].as<std::string>(),
                                                    vm["sigma"].as<double>(), vm["order"].as<std::string>()));
  // One folder per config name: drop repeats.
  std::vector<pipeline::HeatmapConfig> unique;
  for (const auto& c : o.configs)
    if (std::none_of(unique.begin(), unique.end(), [&](const auto& u) { return u.name() == c.name(); }))
      unique.push_back(c);
  o.configs = unique;
  if (vm.count("steps")) o.Ts = vm["steps"].as<std::vector<int>>();
  o.fast = vm["fast"].as<bool>();
  o.reduce = cmd.reduce();
  std::vector<int> heatmap_pairs;
  if (vm.count("heatmaps")) heatmap_pairs = analysis::parse_pair_list(vm["heatmaps"].as<std::string>(), "--heatmaps");

  const auto tables = analysis::analyze_run(run, o, &env);
  if (env.rank() == 0) {
    const std::string& out = cmd.out();
    // No rank count, time or host here: the reports are byte-identical across rank counts (CONTRIBUTING).
    log::info("analyze: {} rank(s)", env.size());
    nlohmann::json prov = {{"version", version_string()}, {"tool", "analyze"}, {"run", run.run_dir()},
                           {"path", o.fast ? "fast" : "exact"},
                           {"sweep_job", io::read_file_bytes(run.run_dir() + "/job.ini")}};
    const auto dirs = analysis::write_analysis_reports(out, run, tables, prov);
    if (vm["tables"].as<bool>()) analysis::write_paper_tables(out, analysis::paper_tables(tables, run.dataset()));
    if (!heatmap_pairs.empty()) {
      std::vector<int> Ts;
      for (const auto& t : tables) Ts.push_back(t.T);
      nlohmann::json hp = prov;
      hp["path"] = "exact";  // heatmaps always come from the online code
      const auto files = analysis::write_pair_heatmaps(out, run, Ts, o.configs, heatmap_pairs, hp);
      std::cout << fmt::format("analyze: heatmaps of {} pair(s) -> {} file(s) heatmaps.h5\n", heatmap_pairs.size(),
                               files.size());
    }
    std::cout << fmt::format("analyze: {} config(s) x {} T -> {} report folder(s) in {}{}\n", o.configs.size(),
                             tables.size(), dirs.size(), out, vm["tables"].as<bool>() ? " (+ tables.md/csv/tex)" : "");
  }
  return 0;
}

}  // namespace ldmg::cli
