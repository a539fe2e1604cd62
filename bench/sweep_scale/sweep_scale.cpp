// sweep_scale: the sweep runner at scale, with a zero-cost stub in place of
// the model (stub_unit_engine.h). Under `mpiexec -n N` it runs the real
// run_sweep (plan, queue, ledger, unit results, reports, cache index) three
// times on a synthetic grid of images x T units:
//   fresh   a new run folder, every unit;
//   half    a second new run folder, every rank stopping (SIGUSR1, the
//           graceful stop) after its share of half the units;
//   resume  the same command on that half-finished folder.
// and prints, per phase, the wall time, its parts (start-up until units can
// be taken, units, reports, cache index), the runner's cost per unit and the
// peak RSS. --check also verifies that every unit was done exactly once, that
// the resume did only the rest, and that fresh and resumed runs wrote the
// same bytes (exit status 1 otherwise). docs/running-at-scale.md has numbers.
#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "cache/attention_cache_format.h"
#include "cache/cache_manifest.h"
#include "core/check.h"
#include "core/log.h"
#include "io/file_bytes.h"
#include "pipeline/benchmark.h"
#include "pipeline/heatmap_config.h"
#include "stub_unit_engine.h"
#include "sweep/ledger.h"
#include "sweep/mpi_env.h"
#include "sweep/plan_reader.h"
#include "sweep/signals.h"
#include "sweep/sweep.h"
#include "sweep/sweep_plan.h"
#include "sweep/unit_result.h"
#include "synthetic_grid.h"

namespace ldmg::bench {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double sum_over_ranks(double v) {
  double out = 0;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return out;
}
double max_over_ranks(double v) {
  double out = 0;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

struct PhaseFigures {
  std::string name;
  sweep::SweepOutcome out;  // rank 0's
  double wall = 0;          // barrier to barrier
  double units_run = 0;     // all ranks
  double cpu = 0;           // process CPU seconds, all ranks
  double rss0 = 0, rss_max = 0;  // VmHWM bytes: rank 0, the largest rank
  bool all_exit_equal = true;
};

PhaseFigures run_phase(const sweep::MpiEnv& env, StubUnitEngine& engine, const sweep::SweepOptions& o,
                       const std::string& name) {
  sweep::clear_stop_request();
  // The heap an earlier phase freed goes back to the kernel first, else it
  // stays resident and every later phase's peak starts from it.
  malloc_trim(0);
  pipeline::reset_peak_rss();
  env.barrier();
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  PhaseFigures f;
  f.name = name;
  f.out = sweep::run_sweep(env, engine, o);
  env.barrier();
  f.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  f.cpu = sum_over_ranks(cpu_seconds() - cpu0);
  f.units_run = sum_over_ranks(double(f.out.units_run));
  const double rss = double(pipeline::peak_rss());
  f.rss_max = max_over_ranks(rss);
  f.rss0 = std::stod(env.broadcast(std::to_string(rss)));
  f.all_exit_equal = env.all_true(f.out.exit_code == std::stoi(env.broadcast(std::to_string(f.out.exit_code))));
  return f;
}

std::string mib(double bytes) { return fmt::format("{:.0f} MiB", bytes / (1024.0 * 1024.0)); }

// Every file under `dir`, relative path -> bytes.
std::map<std::string, std::string> tree_bytes(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = io::read_file_bytes(e.path().string());
  return out;
}

std::size_t count_files(const fs::path& dir, const std::string& ext) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ext;
  return n;
}

// Units the ledger calls done whose outputs went bad: the resume must run them again.
constexpr std::size_t kDamagedUnits = 2;

// Rank 0 spoils the first kDamagedUnits done units of `run` (ledger order by
// id): the first one's cache file becomes bytes that are not HDF5, the
// second one's rows file goes (collective).
void damage_done_units(const sweep::MpiEnv& env, const std::string& run) {
  std::string error;
  if (env.rank() == 0) {
    try {
      const sweep::LedgerState ledger = sweep::read_ledgers(run);
      LDMG_CHECK(ledger.latest.size() >= kDamagedUnits, "{}: fewer than {} units done", run, kDamagedUnits);
      auto it = ledger.latest.begin();
      io::write_file_atomic(cache::cache_unit_path(run + "/cache", it->first), "not an HDF5 file\n");
      ++it;
      LDMG_CHECK(fs::remove(sweep::unit_result_path(run, it->first)), "no rows file for unit {}", it->first);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = env.broadcast(error);
  LDMG_CHECK(error.empty(), "{}", error);
}

// The checks of --check (rank 0); each failure is one line in `failures`.
void check_runs(const std::string& fresh_dir, const std::string& resume_dir, const PhaseFigures& fresh,
                const PhaseFigures& half, const PhaseFigures& resume, std::size_t units, int prompts,
                std::vector<std::string>& failures) {
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) failures.push_back(what);
  };
  const std::string plan_text = io::read_file_bytes(sweep::plan_path(fresh_dir));
  const sweep::SweepPlan plan = sweep::read_plan_file(sweep::plan_path(fresh_dir));
  // plan.json is written a unit at a time: the same bytes as the whole tree's dump.
  expect(plan_text == sweep::plan_to_json(plan).dump(1) + "\n", "plan.json is not plan_to_json(plan).dump(1)");
  expect(plan.units.size() == units, fmt::format("fresh plan has {} units, expected {}", plan.units.size(), units));
  std::set<std::string> ids;
  for (const auto& u : plan.units) ids.insert(u.id);
  expect(ids.size() == units, fmt::format("{} distinct unit ids in the plan, expected {}", ids.size(), units));

  // fresh: every unit exactly once, ok, with its rows and cache file.
  const sweep::LedgerState lf = sweep::read_ledgers(fresh_dir);
  expect(fresh.out.exit_code == 0 && fresh.all_exit_equal, fmt::format("fresh exit {}", fresh.out.exit_code));
  expect(lf.records == units, fmt::format("fresh ledger has {} records, expected {} (one per unit)", lf.records, units));
  expect(fresh.units_run == double(units), fmt::format("fresh ran {} units, expected {}", fresh.units_run, units));
  std::size_t ok = 0;
  for (const auto& u : plan.units) ok += lf.status(u.id) == sweep::UnitStatus::ok;
  expect(ok == units, fmt::format("fresh: {} of {} plan units recorded ok", ok, units));
  expect(count_files(fresh_dir + "/units", ".json") == units, "fresh: not one rows file per unit");
  expect(count_files(fresh_dir + "/cache", ".h5") == units + 1, "fresh: not one cache file per unit plus index.h5");
  const std::string manifest_text = io::read_file_bytes(fresh_dir + "/cache/manifest.json");
  // manifest.json is written a unit at a time: the same bytes as the tree's dump.
  expect(nlohmann::json::parse(manifest_text).dump(1) + "\n" == manifest_text,
         "cache/manifest.json is not the dump(1) of its own JSON tree");
  const auto manifest = cache::read_cache_manifest(fresh_dir + "/cache/manifest.json");
  expect(manifest.units.size() == units, fmt::format("manifest lists {} units", manifest.units.size()));
  std::size_t manifest_pairs = 0;
  for (const auto& u : manifest.units) manifest_pairs += u.pairs.size();
  expect(manifest_pairs == units * std::size_t(prompts), fmt::format("manifest lists {} pairs", manifest_pairs));

  // half, then resume: the resume runs exactly the rest and the damaged
  // units again, nothing twice otherwise.
  const std::size_t half_done = static_cast<std::size_t>(half.units_run);
  expect(half.out.exit_code == sweep::kResumeExitCode && half.all_exit_equal,
         fmt::format("half exit {}, expected {} on every rank", half.out.exit_code, sweep::kResumeExitCode));
  expect(half_done > kDamagedUnits && half_done < units, fmt::format("half run did {} of {} units", half_done, units));
  expect(resume.out.units_done_before == half_done - kDamagedUnits,
         fmt::format("resume found {} done, the half run did {} of which {} were damaged", resume.out.units_done_before,
                     half_done, kDamagedUnits));
  expect(resume.units_run == double(units - half_done + kDamagedUnits),
         fmt::format("resume ran {} units, expected the {} left and the {} damaged", resume.units_run,
                     units - half_done, kDamagedUnits));
  expect(resume.out.exit_code == 0 && resume.all_exit_equal, fmt::format("resume exit {}", resume.out.exit_code));
  const sweep::LedgerState lr = sweep::read_ledgers(resume_dir);
  expect(lr.records == units + kDamagedUnits && lr.latest.size() == units,
         fmt::format("resumed ledger: {} records for {} units, expected {} for {}", lr.records, lr.latest.size(),
                     units + kDamagedUnits, units));

  // Same results, same cache manifest, whatever the stop and the rank order.
  const auto a = tree_bytes(fresh_dir + "/results"), b = tree_bytes(resume_dir + "/results");
  expect(!a.empty() && a == b, fmt::format("results differ between the fresh and the resumed run ({} vs {} files)",
                                           a.size(), b.size()));
  expect(io::read_file_bytes(fresh_dir + "/cache/manifest.json") == io::read_file_bytes(resume_dir + "/cache/manifest.json"),
         "cache/manifest.json differs between the fresh and the resumed run");
}

int run(sweep::MpiEnv& env, int argc, char** argv) {
  po::options_description desc("sweep_scale options");
  desc.add_options()("help", "this help")(
      "work", po::value<std::string>()->required(), "work folder (the synthetic dataset and the run folders)")(
      "images", po::value<int>()->default_value(25000), "synthetic images")(
      "prompts", po::value<int>()->default_value(2), "pairs per image")(
      "steps", po::value<std::string>()->default_value("10,20,30,40"), "T values (units = images x T values)")(
      "configs", po::value<int>()->default_value(2), "heatmap configs (1 or 2): rows and reports per T")(
      "cache", po::value<std::string>()->default_value("window"), "window (a tiny cache file per unit) | none")(
      "bootstrap", po::value<int>()->default_value(1000), "bootstrap resamples of the reports")(
      "phases", po::value<std::string>()->default_value("fresh,half,resume"), "fresh, half, resume")(
      "check", po::bool_switch(), "verify the runs (exit status 1 on a failed check)")(
      "keep", po::bool_switch(), "keep the run folders");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  if (vm.count("help")) {
    if (env.rank() == 0) std::cout << "usage: mpiexec -n N sweep_scale --work DIR [options]\n" << desc;
    return 0;
  }
  po::notify(vm);
  log::set_prefix(env.label());
  log::set_stderr_level(log::Level::warn);  // the per-unit lines go to the run's logs/rank<R>.log

  const std::string work = fs::absolute(vm["work"].as<std::string>()).lexically_normal().string();
  const int images = vm["images"].as<int>(), prompts = vm["prompts"].as<int>(), n_configs = vm["configs"].as<int>();
  LDMG_CHECK(n_configs == 1 || n_configs == 2, "--configs: 1 or 2, got {}", n_configs);
  std::vector<int> Ts;
  {
    std::stringstream ss(vm["steps"].as<std::string>());
    for (std::string t; std::getline(ss, t, ',');) Ts.push_back(std::stoi(t));
  }
  const std::string phases = vm["phases"].as<std::string>();
  const bool check = vm["check"].as<bool>();
  LDMG_CHECK(!check || phases == "fresh,half,resume", "--check needs every phase (--phases fresh,half,resume)");

  // The dataset, once (rank 0), kept between invocations of the same size.
  std::string error;
  SyntheticGrid grid;
  const auto t_grid = std::chrono::steady_clock::now();
  if (env.rank() == 0) {
    try {
      grid = write_synthetic_grid(work + "/data", images, prompts);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = env.broadcast(error);
  LDMG_CHECK(error.empty(), "{}", error);
  grid.csv = env.broadcast(grid.csv);
  grid.images_root = env.broadcast(grid.images_root);
  const double grid_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_grid).count();

  sweep::SweepOptions o;
  o.dataset_csv = grid.csv;
  o.images_root = grid.images_root;
  o.Ts = Ts;
  o.grounding.configs = {pipeline::HeatmapConfig{}};
  if (n_configs == 2) o.grounding.configs.push_back(pipeline::parse_heatmap_spec("layers=all;otsu=off"));
  o.cache = sweep::parse_cache_mode(vm["cache"].as<std::string>());
  LDMG_CHECK(o.cache != sweep::CacheMode::full, "--cache: window or none");
  o.report.bootstrap.resamples = vm["bootstrap"].as<int>();
  o.job = {{"bench", "sweep_scale"}, {"images", images}, {"prompts", prompts}, {"steps", Ts}, {"configs", n_configs}};
  o.job_ini = "# sweep_scale\n";

  const std::size_t units = std::size_t(images) * Ts.size();
  StubUnitEngine engine;
  std::vector<PhaseFigures> figures;
  const std::string fresh_dir = work + "/run_fresh", resume_dir = work + "/run_resume";
  auto fresh_folder = [&](const std::string& dir) {
    if (env.rank() == 0) fs::remove_all(dir);
    env.barrier();
  };
  if (phases.find("fresh") != std::string::npos) {
    fresh_folder(fresh_dir);
    o.run_dir = fresh_dir;
    engine.stop_after(-1);
    figures.push_back(run_phase(env, engine, o, "fresh"));
  }
  if (phases.find("half") != std::string::npos) {
    fresh_folder(resume_dir);
    o.run_dir = resume_dir;
    engine.stop_after(std::max<std::int64_t>(1, std::int64_t(units / (2 * std::size_t(env.size())))));
    figures.push_back(run_phase(env, engine, o, "half"));
  }
  if (phases.find("resume") != std::string::npos) {
    o.run_dir = resume_dir;
    if (check) damage_done_units(env, resume_dir);
    engine.stop_after(-1);
    figures.push_back(run_phase(env, engine, o, "resume"));
  }

  int status = 0;
  if (env.rank() == 0) {
    std::cout << fmt::format(
        "sweep_scale: {} units ({} images x {} T, {} pair(s) each, {} config(s)), {} ranks, cache {}, bootstrap {}\n",
        units, images, Ts.size(), prompts, n_configs, env.size(), sweep::to_string(o.cache), o.report.bootstrap.resamples);
    std::cout << fmt::format("synthetic dataset ready in {:.1f} s ({})\n", grid_seconds, work + "/data");
    std::cout << fmt::format("{:<7} {:>6} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} {:>12} {:>12} {:>12}\n",
                             "phase", "exit", "units", "wall_s", "start_s", "units_s", "report_s", "index_s",
                             "wall_ms/u", "rank_ms/u", "cpu_ms/u", "rss_rank0", "rss_max");
    for (const auto& f : figures) {
      const double n = std::max(1.0, f.units_run);
      std::cout << fmt::format(
          "{:<7} {:>6} {:>8} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>11.3f} {:>11.3f} {:>12.3f} {:>12} {:>12}\n",
          f.name, f.out.exit_code, f.units_run, f.wall, f.out.startup_seconds, f.out.units_seconds,
          f.out.results_seconds, f.out.index_seconds, 1e3 * f.out.units_seconds / n,
          1e3 * f.out.units_seconds * env.size() / n, 1e3 * f.cpu / n, mib(f.rss0), mib(f.rss_max));
    }
    std::cout << "start_s: until units can be taken (plan, ledger, done checks, broadcast); units_s: taking and\n"
                 "recording units; wall_ms/u = units_s / units; rank_ms/u = units_s x ranks / units; cpu_ms/u =\n"
                 "process CPU seconds of all ranks over the whole phase / units; rss: VmHWM during the phase\n";
  }
  if (check) {
    std::vector<std::string> failures;
    if (env.rank() == 0) {
      try {
        check_runs(fresh_dir, resume_dir, figures[0], figures[1], figures[2], units, prompts, failures);
      } catch (const std::exception& e) {
        failures.push_back(e.what());
      }
      for (const auto& f : failures) std::cout << "CHECK FAILED: " << f << "\n";
      if (failures.empty()) std::cout << "checks passed\n";
    }
    status = env.all_true(failures.empty()) ? 0 : 1;
  }
  if (!vm["keep"].as<bool>() && env.rank() == 0) {
    fs::remove_all(fresh_dir);
    fs::remove_all(resume_dir);
  }
  env.barrier();
  return status;
}

}  // namespace
}  // namespace ldmg::bench

int main(int argc, char** argv) {
  ldmg::sweep::MpiEnv env(&argc, &argv);
  try {
    return ldmg::bench::run(env, argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sweep_scale: rank " << env.rank() << ": " << e.what() << "\n";
    env.abort(2);
  }
}
