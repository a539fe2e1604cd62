// `ldmground search`: the best heatmap config per pathology over a search
// space, by K-fold cross-validation on a sweep's attention cache
// (analysis/config_search.h), with the fast path (analysis/window_prefix.h,
// analysis/scoring_grid.h).
#include <ATen/Parallel.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "analysis/config_search.h"
#include "analysis/offline_analysis.h"
#include "analysis/search_space.h"
#include "cache/attention_cache_reader.h"
#include "cli/job_file.h"
#include "cli/options.h"
#include "core/check.h"
#include "core/log.h"
#include "core/threads.h"
#include "core/version.h"
#include "io/file_bytes.h"
#include "sweep/mpi_env.h"

namespace ldmg::cli {

int run_search(int argc, char** argv) {
  RunFolderCommand cmd("search", "job file of these options",
                       "output folder: search.md, search.json, best.ini, scores.csv (every config's score per "
                       "pathology)");
  cmd.options().add_options()
      ("space", po::value<std::string>()->required(), "search space file (layers / window / window-start / "
       "window-length / tokens / otsu / sigma / order, alternatives separated by '|')")
      ("per-pathology", po::bool_switch()->default_value(true), "choose per pathology (the only mode; accepted for clarity)")
      ("folds", po::value<int>()->default_value(5), "K of the K-fold cross-validation")
      ("seed", po::value<std::uint64_t>()->default_value(0), "fold assignment seed")
      ("metric", po::value<std::string>()->default_value("miou"), "miou | cnr (= |CNR|) | signed-cnr | auroc")
      ("steps,T", po::value<int>(), "T of the run to search (default: its first)");
  if (!cmd.parse(argc, argv, "--space FILE [--folds K] [--seed S] [--metric miou|cnr|auroc]",
                 "Scores every config of the space on every pair from the attention cache, then per pathology "
                 "reports the\ncross-validated best config next to the in-sample best and the paper's default."))
    return 0;
  const po::variables_map& vm = cmd.vm();
  const analysis::RunInputs& run = cmd.run();
  const sweep::MpiEnv& env = cmd.env();
  const std::string space = vm["space"].as<std::string>();
  analysis::AnalysisOptions o;
  o.configs = analysis::parse_search_space(io::read_file_bytes(space), space);
  const pipeline::HeatmapConfig paper;
  int paper_index = -1;
  for (std::size_t c = 0; c < o.configs.size(); ++c)
    if (o.configs[c].name() == paper.name()) paper_index = static_cast<int>(c);
  if (paper_index < 0) {
    o.configs.push_back(paper);  // the reference column
    paper_index = static_cast<int>(o.configs.size()) - 1;
  }
  o.Ts = {vm.count("steps") ? vm["steps"].as<int>() : run.plan().Ts.front()};
  o.fast = true;
  o.exact_auroc = false;  // not a search metric; the sort per pair-config dominates otherwise
  o.reduce = cmd.reduce();
  analysis::SearchOptions so;
  so.folds = vm["folds"].as<int>();
  so.seed = vm["seed"].as<std::uint64_t>();
  so.metric = analysis::parse_search_metric(vm["metric"].as<std::string>());

  const auto t0 = std::chrono::steady_clock::now();
  const auto tables = analysis::analyze_run(run, o, &env);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (env.rank() != 0) return 0;
  const analysis::ScoreTable& t = tables.front();
  long grounded = 0;
  for (std::size_t i = 0; i < t.sources.size(); ++i) grounded += t.grounded(i);
  const int cores = env.size() * at::get_num_threads();
  const long pair_configs = grounded * static_cast<long>(t.configs.size());
  const auto result = analysis::search_configs(t, run.dataset(), so, paper_index);
  nlohmann::json prov = {{"version", version_string()}, {"tool", "search"}, {"run", run.run_dir()},
                         {"space", io::read_file_bytes(space)}, {"ranks", env.size()}};
  nlohmann::json j = analysis::search_json(t, result, so, prov);
  j["throughput"] = {{"pair_configs", pair_configs}, {"seconds", seconds}, {"cores", cores},
                     {"pair_configs_per_s_per_core", static_cast<double>(pair_configs) / seconds / cores}};
  const std::string& out = cmd.out();
  std::filesystem::create_directories(out);
  io::write_file_atomic(out + "/search.json", j.dump(2) + "\n");
  io::write_file_atomic(out + "/search.md", analysis::search_markdown(j));
  io::write_file_atomic(out + "/best.ini", analysis::best_ini(t, result, so));
  // The inversion's step count, to resolve the windows: from a unit's cache (every unit of a T has the same schedule).
  int num_steps = 0;
  for (std::size_t i = 0; i < t.sources.size() && num_steps == 0; ++i)
    if (t.grounded(i))
      num_steps = static_cast<int>(cache::AttentionCacheReader(run.cache_file(t.sources[i].unit)).spec().timesteps.size());
  LDMG_CHECK(num_steps > 0, "search: no pair of T={} in '{}' was grounded", t.T, run.run_dir());
  io::write_file_atomic(out + "/scores.csv", analysis::search_scores_csv(t, run.dataset(), so, num_steps));
  std::cout << fmt::format("search: {} configs x {} pairs in {:.2f} s on {} core(s) = {:.1f} pair-configs/s/core; "
                           "wrote {}/search.md, search.json, best.ini, scores.csv\n",
                           t.configs.size(), grounded, seconds, cores, pair_configs / seconds / cores, out);
  return 0;
}

}  // namespace ldmg::cli
