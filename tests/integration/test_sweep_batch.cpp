// sweep --batch-images: a rank inverts several units of one T in one U-Net
// batch, and every unit stays the unit of record. Against --batch-images 1 on
// the same demo job: the same plan, the same statuses, pairs.csv rows equal
// within float32 batch rounding (equal metrics where the Otsu margin exceeds
// 1e-4, else within 1e-3), cached maps within 1e-5 at step 0 and 1e-4 after; exactly one ledger line, one rows file and
// one cache file per unit; an unreadable image fails only its own unit of the batch; a stop between batches keeps what
// was recorded and the resume runs only the rest. Demo assets (no ../shared); an MPI singleton.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cache/attention_cache_reader.h"
#include "core/threads.h"
#include "data/csv.h"
#include "data/ms_cxr.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "io/file_bytes.h"
#include "support/fixtures.h"
#include "sweep/ledger.h"
#include "sweep/mpi_env.h"
#include "sweep/signals.h"
#include "sweep/sweep.h"
#include "sweep/sweep_plan.h"
#include "sweep/unit_result.h"

namespace ldmg {
namespace {

namespace fs = std::filesystem;

struct Assets {
  std::string dir;
  demo::DemoDataset data;
  pipeline::ModelBundle models;
  std::string bad_image;  // the image overwritten with bytes that are not an image
};

Assets& assets() {
  static Assets a = [] {
    set_compute_threads(1);  // seconds, also on a busy 2-core machine
    Assets r;
    r.dir = test::temp_dir("sweep_batch");
    demo::write_demo_model(r.dir + "/model");
    r.data = demo::write_demo_dataset(r.dir + "/data", {.images = 3});
    pipeline::ModelPaths paths;
    paths.fill_from_dir(r.dir + "/model");
    r.models = pipeline::load_models(paths);
    // The second image (plan order) cannot be read: its unit fails at every T.
    const data::MsCxrDataset ds = data::read_ms_cxr(r.data.csv, {.images_root = r.data.images_root});
    for (const auto& p : ds.pairs())
      if (p.image_path != ds[0].image_path) {
        r.bad_image = p.image_path;
        break;
      }
    std::ofstream(r.bad_image, std::ios::binary | std::ios::trunc) << "not an image";
    return r;
  }();
  return a;
}

// MPI is initialised once per process (MpiEnv finalises it when destroyed).
sweep::MpiEnv& mpi_env() {
  static sweep::MpiEnv env;
  return env;
}

// 3 images x T in {10, 12}: 6 units in plan order T=10 (3), T=12 (3).
sweep::SweepOptions demo_job(const std::string& run_dir, int batch) {
  const Assets& a = assets();
  sweep::SweepOptions o;
  o.run_dir = run_dir;
  o.dataset_csv = a.data.csv;
  o.images_root = a.data.images_root;
  o.Ts = {10, 12};
  o.grounding.mode = diffusion::InversionMode::fast;
  o.grounding.configs = {pipeline::HeatmapConfig{}, pipeline::parse_heatmap_spec("layers=all;window=0:8;otsu=off")};
  o.cache = sweep::CacheMode::window;
  o.cache_options.dtype = cache::CacheDType::f32;
  o.report.bootstrap.resamples = 10;
  o.batch_images = batch;
  return o;
}

sweep::SweepPlan read_plan(const std::string& run) {
  return sweep::plan_from_json(nlohmann::json::parse(io::read_file_bytes(sweep::plan_path(run))), "plan.json");
}

std::size_t count_files(const std::string& dir, const std::string& ext, const std::string& except = "") {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ext && e.path().filename() != except;
  return n;
}

// Every unit recorded at most once; a recorded ok unit has its rows and, when
// it grounded anything, its cache file. Returns the units recorded.
std::size_t check_units_of_record(const std::string& run, const sweep::SweepPlan& plan) {
  const sweep::LedgerState ledger = sweep::read_ledgers(run);
  EXPECT_EQ(ledger.records, ledger.latest.size()) << "a unit was recorded twice";
  std::size_t grounded_ok = 0;
  for (const auto& u : plan.units) {
    const auto st = ledger.status(u.id);
    if (!st) {
      EXPECT_FALSE(fs::exists(run + "/cache/" + u.id + ".h5")) << u.id;
      continue;
    }
    const sweep::UnitResult res = sweep::read_unit_result(run, u.id);
    EXPECT_EQ(res.rows.size(), u.pairs.size());
    bool grounded = false;
    for (const auto& per_cfg : res.rows) grounded |= !per_cfg.front().skipped;
    if (*st == sweep::UnitStatus::ok && grounded) {
      ++grounded_ok;
      EXPECT_TRUE(fs::exists(run + "/cache/" + u.id + ".h5")) << u.id;
    }
  }
  EXPECT_EQ(count_files(run + "/cache", ".h5", "index.h5"), grounded_ok);
  EXPECT_EQ(count_files(run + "/cache", ".tmp"), 0u) << "a partial cache file was left";
  return ledger.latest.size();
}

std::string read_or_empty(const std::string& path) {
  try {
    return io::read_file_bytes(path);
  } catch (const std::exception&) {
    return {};
  }
}

double number(const std::string& s) { return s.empty() ? std::nan("") : std::stod(s); }  // "nan" too

bool near(double a, double b, double tol) { return (std::isnan(a) && std::isnan(b)) || std::abs(a - b) <= tol; }

TEST(SweepBatch, BatchOfFourEqualsOneAtATimeUnitByUnit) {
  const std::string dir = test::temp_dir("sweep_batch_runs");
  const sweep::SweepOutcome one = sweep::run_sweep(mpi_env(), assets().models, demo_job(dir + "/one", 1));
  // A range of 4 takes T=10's three units and T=12's first: two batches.
  const sweep::SweepOutcome four = sweep::run_sweep(mpi_env(), assets().models, demo_job(dir + "/four", 4));
  EXPECT_EQ(one.exit_code, 1) << "the unreadable image's units fail";
  EXPECT_EQ(four.exit_code, 1);
  EXPECT_EQ(four.units_failed, 2u);
  EXPECT_EQ(io::read_file_bytes(sweep::plan_path(dir + "/one")), io::read_file_bytes(sweep::plan_path(dir + "/four")));
  const sweep::SweepPlan plan = read_plan(dir + "/four");
  ASSERT_EQ(plan.units.size(), 6u);
  EXPECT_EQ(check_units_of_record(dir + "/one", plan), 6u);
  EXPECT_EQ(check_units_of_record(dir + "/four", plan), 6u);

  const sweep::LedgerState l1 = sweep::read_ledgers(dir + "/one"), l4 = sweep::read_ledgers(dir + "/four");
  std::map<int, double> margin;  // pair -> Otsu margin of --batch-images 1 (config 0) at the T compared
  for (const auto& u : plan.units) {
    SCOPED_TRACE("unit " + u.id + " T=" + std::to_string(u.T) + " " + u.path);
    ASSERT_TRUE(l1.status(u.id) == l4.status(u.id));
    const sweep::UnitResult r1 = sweep::read_unit_result(dir + "/one", u.id);
    const sweep::UnitResult r4 = sweep::read_unit_result(dir + "/four", u.id);
    if (*l4.status(u.id) == sweep::UnitStatus::failed) {
      EXPECT_EQ(u.image_path, assets().bad_image);
      EXPECT_NE(l4.latest.at(u.id).error.find(assets().bad_image), std::string::npos) << l4.latest.at(u.id).error;
      continue;
    }
    EXPECT_EQ(r4.unet_calls, r1.unet_calls) << "a batched unit took part in as many calls as alone";
    for (std::size_t k = 0; k < r1.rows.size(); ++k)
      for (std::size_t c = 0; c < r1.rows[k].size(); ++c) {
        const pipeline::PairRow& a = r1.rows[k][c];
        const pipeline::PairRow& b = r4.rows[k].at(c);
        EXPECT_EQ(a.skipped, b.skipped);
        if (u.T == 10 && c == 0) margin[a.pair] = a.otsu_margin;
        if (a.skipped) continue;
        // As tests/integration/test_batched_images.cpp: equal where the Otsu
        // mask cannot move, within 1e-3 where it is on a knife edge or off.
        const double tol = a.otsu_margin > 1e-4 ? 1e-4 : 1e-3;
        if (a.otsu_margin > 1e-4) EXPECT_EQ(a.metrics.miou, b.metrics.miou);
        EXPECT_NEAR(a.metrics.miou, b.metrics.miou, tol);
        EXPECT_NEAR(a.metrics.cnr, b.metrics.cnr, tol);
        EXPECT_NEAR(a.metrics.auroc, b.metrics.auroc, tol);
      }
    // The cached maps (float32, steps 0..7) of the batched unit: those of the unit alone within
    // batch rounding: 1e-5 at step 0 (the same z0), 1e-4 later (the chain's drift; as test_batched_images).
    if (!fs::exists(dir + "/one/cache/" + u.id + ".h5")) continue;
    const cache::AttentionCacheReader c1(dir + "/one/cache/" + u.id + ".h5");
    const cache::AttentionCacheReader c4(dir + "/four/cache/" + u.id + ".h5");
    ASSERT_EQ(c1.spec().prompts.size(), c4.spec().prompts.size());
    for (int p = 0; p < static_cast<int>(c1.spec().prompts.size()); ++p)
      for (int l : {0, 3, 7, 10}) {
        const at::Tensor diff = (c1.layer_maps(p, l) - c4.layer_maps(p, l)).abs();  // [steps, HW, n]
        EXPECT_EQ(c1.spec().cached_steps.front(), 0);
        EXPECT_LE(diff[0].max().item<float>(), 1e-5f) << "prompt " << p << " layer " << l;
        EXPECT_LE(diff.max().item<float>(), 1e-4f) << "prompt " << p << " layer " << l;
      }
  }

  // pairs.csv of T=10, paper config: the same rows, numbers within batch rounding.
  const std::string rel = "/results/T10/" + demo_job("", 1).grounding.configs[0].name() + "/pairs.csv";
  const data::CsvTable t1 = data::read_csv(dir + "/one" + rel), t4 = data::read_csv(dir + "/four" + rel);
  ASSERT_EQ(t1.header, t4.header);
  ASSERT_EQ(t1.rows.size(), t4.rows.size());
  ASSERT_GE(t1.rows.size(), 3u);
  const int skipped = t1.column("skipped");
  int compared = 0;
  for (std::size_t i = 0; i < t1.rows.size(); ++i) {
    const auto& a = t1.rows[i].fields;
    const auto& b = t4.rows[i].fields;
    for (int j = 0; j <= skipped; ++j) EXPECT_EQ(a[j], b[j]) << "row " << i << " column " << t1.header[j];
    if (a[skipped] != "0") continue;
    const double tol = margin.at(std::stoi(a[0])) > 1e-4 ? 1e-4 : 1e-3;
    for (std::size_t j = skipped + 1; j < a.size(); ++j)
      EXPECT_TRUE(near(number(a[j]), number(b[j]), tol))
          << "row " << i << " column " << t1.header[j] << ": " << a[j] << " vs " << b[j];
    ++compared;
  }
  EXPECT_GE(compared, 2);
}

TEST(SweepBatch, AStopKeepsTheRecordedUnitsAndTheResumeRunsTheRest) {
  const std::string run = test::temp_dir("sweep_batch_stop") + "/run";
  sweep::clear_stop_request();
  // SIGUSR1 as soon as the first batch (T=10: units 0 and 2; unit 1 fails
  // before it) records an ok unit: the range's second batch (T=12's first
  // unit) is then skipped or abandoned. The sweep installs the handler.
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    while (!finished) {
      std::error_code ec;
      if (fs::exists(run + "/ledger", ec))
        for (const auto& e : fs::directory_iterator(run + "/ledger", ec))
          if (read_or_empty(e.path().string()).find("\"status\":\"ok\"") != std::string::npos) {
            std::raise(SIGUSR1);
            return;
          }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const sweep::SweepOutcome stopped = sweep::run_sweep(mpi_env(), assets().models, demo_job(run, 4));
  finished = true;
  watcher.join();
  EXPECT_EQ(stopped.exit_code, sweep::kResumeExitCode);
  EXPECT_FALSE(fs::exists(run + "/results")) << "a stopped sweep wrote results";
  const sweep::SweepPlan plan = read_plan(run);
  const std::size_t recorded = check_units_of_record(run, plan);
  EXPECT_GE(recorded, 3u) << "the first batch's units are all recorded";
  EXPECT_LT(recorded, plan.units.size());

  sweep::clear_stop_request();
  const sweep::SweepOutcome resumed = sweep::run_sweep(mpi_env(), assets().models, demo_job(run, 4));
  EXPECT_EQ(resumed.exit_code, 1) << "done, with the unreadable image's units failed";
  EXPECT_EQ(resumed.units_done_before, recorded);
  EXPECT_EQ(resumed.units_run, plan.units.size() - recorded);
  EXPECT_EQ(check_units_of_record(run, plan), plan.units.size());
  EXPECT_TRUE(fs::exists(run + "/results/T12"));
}

}  // namespace
}  // namespace ldmg
