// A sweep's attention cache, read back: in C++ every cached pair's heatmap,
// recomputed from the float32 cache with the offline code
// (cache/cached_heatmap.h), equals the online heatmap bit for bit and
// scores to the sweep's own rows exactly; h5py opens the run through
// cache/index.h5 and reads the same maps. On the demo assets (no ../shared).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cache/cached_heatmap.h"
#include "core/threads.h"
#include "data/box_survival.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "data/preprocess.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "io/npy.h"
#include "pipeline/pair_scoring.h"
#include "support/fixtures.h"
#include "support/python.h"
#include "sweep/mpi_env.h"
#include "sweep/sweep.h"
#include "sweep/sweep_plan.h"
#include "sweep/unit_result.h"

using namespace ldmg;
using namespace ldmg::pipeline;
using namespace ldmg::cache;
using namespace ldmg::sweep;

TEST(SweepCache, OfflineHeatmapsEqualOnlineAndH5pyReadsTheRun) {
  set_compute_threads(1);
  const std::string dir = test::temp_dir("sweep_cache");
  demo::write_demo_model(dir + "/model");
  const auto ds_files = demo::write_demo_dataset(dir + "/data", {.images = 3});
  ModelPaths paths;
  paths.fill_from_dir(dir + "/model");
  ModelBundle models = load_models(paths);

  SweepOptions o;
  o.run_dir = dir + "/run";
  o.dataset_csv = ds_files.csv;
  o.images_root = ds_files.images_root;
  o.Ts = {10};
  o.grounding.mode = diffusion::InversionMode::fast;
  o.grounding.configs = {HeatmapConfig{}, parse_heatmap_spec("layers=all;window=0:10;otsu=off;order=paper")};
  o.cache = CacheMode::full;
  o.cache_options.dtype = CacheDType::f32;
  o.report.bootstrap.resamples = 10;
  MpiEnv env;  // an MPI singleton
  const SweepOutcome out = run_sweep(env, models, o);
  ASSERT_EQ(out.exit_code, 0);

  const SweepPlan plan = plan_from_json(nlohmann::json::parse(std::ifstream(plan_path(o.run_dir))), "plan.json");
  const data::MsCxrDataset ds = data::read_ms_cxr(o.dataset_csv, {.images_root = o.images_root});
  int compared = 0;
  for (const SweepUnit& u : plan.units) {
    const UnitResult res = read_unit_result(o.run_dir, u.id);
    const AttentionCacheReader reader(o.run_dir + "/cache/" + u.id + ".h5");
    EXPECT_EQ(reader.spec().cached_steps.size(), reader.spec().timesteps.size());  // --cache full
    EXPECT_EQ(reader.spec().layers.size(), 11u);
    // The online heatmaps, again, independently of the sweep.
    std::vector<PromptInput> prompts;
    std::vector<std::size_t> ks;
    for (std::size_t k = 0; k < u.pairs.size(); ++k)
      if (!res.rows[k][0].skipped) {
        prompts.push_back({ds[u.pairs[k]].prompt, ds[u.pairs[k]].category});
        ks.push_back(k);
      }
    ASSERT_EQ(prompts.size(), reader.spec().prompts.size());
    const data::GrayImage img = data::read_image(u.image_path);
    GroundingOptions g = o.grounding;
    g.T = u.T;
    const ImageGrounding online = ground_image(models, data::preprocess_image(img, 512), prompts, g);
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      const CachedPromptMaps maps(reader, static_cast<int>(p));
      const data::Pair& pair = ds[u.pairs[ks[p]]];
      EXPECT_EQ(maps.prompt().pair_index, pair.index);
      for (std::size_t c = 0; c < o.grounding.configs.size(); ++c) {
        const auto& cfg = o.grounding.configs[c];
        const ConfigHeatmap h =
            maps.heatmap(cfg, config_tokens(cfg, maps.prompt().token_ids, models.tokenizer, pair.category));
        EXPECT_TRUE(at::equal(at::nan_to_num(h.post.final, -1.0), at::nan_to_num(online.prompts[p].per_config[c].post.final, -1.0)))
            << "pair " << pair.index << " config " << cfg.name();
        const auto boxes = data::survive_boxes(pair.boxes, pair.csv_width, pair.csv_height, 512).original;
        const auto m = score_heatmap(h.post.final, boxes, img.width, img.height);
        const PairRow& row = res.rows[ks[p]][c];
        EXPECT_EQ(m.abs_cnr, row.metrics.abs_cnr);
        EXPECT_EQ(m.miou, row.metrics.miou);
        EXPECT_EQ(m.auroc, row.metrics.auroc);
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 6);

  // h5py through the index: the map of one pair equals the C++ reader's.
  if (!test::python_has_numpy_h5py()) GTEST_SKIP() << "no Python with numpy and h5py at '" << test::python() << "'";
  const SweepUnit& u = plan.units.front();
  const AttentionCacheReader reader(o.run_dir + "/cache/" + u.id + ".h5");
  const int pair = static_cast<int>(reader.spec().prompts[0].pair_index);
  const at::Tensor want = reader.layer_maps(0, 3).contiguous();  // [steps, HW, n]
  io::write_npy(dir + "/want.npy", std::span<const float>(want.data_ptr<float>(), want.numel()),
                {want.size(0), want.size(1), want.size(2)});
  std::ofstream(dir + "/check.py") << R"PY(
import sys, json, numpy as np, h5py
run, pair, want = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
with h5py.File(run + '/cache/index.h5', 'r') as f:
    g = f['pairs/T10/' + pair]          # external link into the unit's file
    got = g['layer_03'][...]
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want)
    assert len(f['units']) == len(json.load(open(run + '/cache/manifest.json'))['units'])
print('ok')
)PY";
  const auto [rc, text] = test::run_python(dir + "/check.py", o.run_dir + " " + std::to_string(pair) + " " + dir + "/want.npy");
  EXPECT_EQ(rc, 0) << text;
}
