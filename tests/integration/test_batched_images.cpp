// Batched inversion across images (--batch-images): several images in one
// U-Net batch must give each image the maps, heatmaps and metrics of its own
// single-image run (normalised heatmaps within 5e-5, the same metrics where
// the Otsu margin exceeds 1e-4: float32 batch rounding only), with as many
// U-Net calls as one image alone and the rows of all; an image that cannot be
// read fails alone before the batch, a failure inside the batch fails only its
// own image (the others run again alone), and a stop request is not a failure.
// Demo model (always) and the parity fixture models (when ../shared is there).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include "core/check.h"
#include "core/threads.h"
#include "data/ms_cxr.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "pipeline/evaluation.h"
#include "pipeline/image_grounder.h"
#include "pipeline/image_scoring.h"
#include "pipeline/model_bundle.h"
#include "pipeline/pair_scoring.h"
#include "support/fixtures.h"

namespace ldmg {
namespace {

namespace fs = std::filesystem;

struct DemoAssets {
  pipeline::ModelBundle models;
  demo::DemoDataset data;
};

DemoAssets& demo_assets() {
  static DemoAssets a = [] {
    set_compute_threads(1);  // seconds, also on a busy 2-core machine (spinning thread pools crawl there)
    const fs::path d = test::temp_dir("batched_images");
    demo::write_demo_model(d / "model");
    DemoAssets r;
    r.data = demo::write_demo_dataset(d / "data", {.images = 4});
    pipeline::ModelPaths paths;
    paths.fill_from_dir((d / "model").string());
    r.models = pipeline::load_models(paths);
    return r;
  }();
  return a;
}

at::Tensor smooth_image(int seed) {
  torch::manual_seed(seed);
  const at::Tensor smooth =
      torch::nn::functional::interpolate(torch::rand({1, 1, 32, 32}), torch::nn::functional::InterpolateFuncOptions()
                                                                          .size(std::vector<std::int64_t>{512, 512})
                                                                          .mode(torch::kBilinear)
                                                                          .align_corners(false));
  return smooth.clamp(0, 1);  // [1,1,512,512]
}

pipeline::GroundingOptions small_options() {
  pipeline::GroundingOptions opt;
  opt.T = 10;  // 11 trailing steps, paper window [4,6)
  opt.mode = diffusion::InversionMode::fast;
  opt.configs = {pipeline::HeatmapConfig{}, pipeline::parse_heatmap_spec("layers=all;window=1:8;otsu=off;order=paper")};
  return opt;
}

// Keeps every map it receives, by (step, layer, prompt).
class RecordingSink final : public diffusion::AttentionSink {
 public:
  void on_maps(int step, int layer, int prompt, const at::Tensor& probs, std::int64_t, std::int64_t) override {
    const auto key = std::make_tuple(step, layer, prompt);
    EXPECT_EQ(maps.count(key), 0u) << "map delivered twice: step " << step << " layer " << layer << " prompt "
                                   << prompt;
    maps[key] = probs.to(torch::kCPU).clone();
  }
  std::map<std::tuple<int, int, int>, at::Tensor> maps;
};

// The metrics of a batched run against the single-image run. Where no pixel
// lies within 1e-4 of the Otsu threshold (margin > 1e-4) the mask cannot
// move: the same mIoU, and CNR and AUC-ROC over values within batch rounding.
// Where Otsu is on a knife edge (a smooth 512x512 map nearly always has a
// pixel within 1e-4 of it) or off, a few pixels may cross: within 1e-3, the
// parity tolerance. A mis-routed map (another prompt's, another image's) is
// far outside both.
void expect_same_metrics(const metrics::PairMetrics& a, const metrics::PairMetrics& b, double margin) {
  if (margin > 1e-4) {
    EXPECT_EQ(a.miou, b.miou);
    EXPECT_NEAR(a.cnr, b.cnr, 1e-4);
    EXPECT_NEAR(a.auroc, b.auroc, 1e-5);
  } else {
    EXPECT_NEAR(a.miou, b.miou, 1e-3);
    EXPECT_NEAR(a.cnr, b.cnr, 1e-3);
    EXPECT_NEAR(a.auroc, b.auroc, 1e-3);
  }
}

// Same heatmaps within batch rounding, and the same metrics (above).
void expect_same_heatmap(const pipeline::ConfigHeatmap& a, const pipeline::ConfigHeatmap& b) {
  // The averaged maps carry the chain's drift (measured 1.8e-5 at 1 thread); the
  // normalised ones are what the spec bounds.
  EXPECT_LE((a.averaged - b.averaged).abs().max().item<float>(), 5e-5f);
  EXPECT_LE((a.post.norm - b.post.norm).abs().max().item<float>(), 5e-5f);
  if (a.post.otsu_margin > 1e-4) EXPECT_EQ(a.post.mask_count, b.post.mask_count);
  const std::vector<data::Box> boxes = {{100, 120, 150, 180}};
  expect_same_metrics(pipeline::score_heatmap(a.post.final, boxes, 512, 512),
                      pipeline::score_heatmap(b.post.final, boxes, 512, 512), a.post.otsu_margin);
}

TEST(BatchedImages, DemoModelEqualsOneImageAtATime) {
  pipeline::ModelBundle& models = demo_assets().models;
  const pipeline::GroundingOptions opt = small_options();
  // Different prompt counts per image (1, 3, 2), so batch rows are not image-aligned.
  const std::vector<std::vector<pipeline::PromptInput>> prompts = {
      {{"Small left pleural effusion.", "Pleural effusion"}},
      {{"Moderate cardiomegaly.", "Cardiomegaly"},
       {"Patchy opacity at the right base.", "Pneumonia"},
       {"Small left pleural effusion.", "Pleural effusion"}},
      {{"Right upper lobe opacity.", "Lung Opacity"}, {"Moderate cardiomegaly.", "Cardiomegaly"}}};
  // The cache's extent on images 0 and 2 only: image 1 (no extra sink) runs the widened capture too.
  // Alone, every image has a sink, so that every single run has the batch's extent.
  pipeline::CaptureExtent extra;
  for (int l = 0; l < models.unet->num_attn2_layers(); ++l) extra.layers.push_back(l);
  extra.begin = 0;
  extra.end = 9;
  const std::vector<bool> has_sink = {true, false, true};

  std::vector<pipeline::ImageGrounding> single;
  std::vector<RecordingSink> single_sinks(prompts.size()), batch_sinks(prompts.size());
  std::vector<pipeline::ImageInput> inputs;
  std::vector<std::vector<int>> progress(prompts.size());
  int single_rows = 0;
  for (std::size_t k = 0; k < prompts.size(); ++k) {
    const at::Tensor x = smooth_image(static_cast<int>(11 + k));
    single.push_back(pipeline::ground_image(models, x, prompts[k], opt, &single_sinks[k], {}, extra));
    single_rows += single.back().stats.unet_batch_rows;
    inputs.push_back({x, prompts[k], has_sink[k] ? &batch_sinks[k] : nullptr,
                      [&progress, k](int done, int total) { progress[k].push_back(done * 100 + total); }});
  }
  const pipeline::BatchGrounding batch = pipeline::ground_images(models, inputs, opt, extra);

  // U-Net calls: those of one image alone (every image has the same schedule and capture), rows of all.
  for (const auto& s : single) EXPECT_EQ(batch.stats.unet_calls, s.stats.unet_calls);
  EXPECT_EQ(batch.stats.unet_batch_rows, single_rows);
  EXPECT_GT(batch.stats.unet_batch_rows, batch.stats.unet_calls);
  // Every image saw every step of the (widened) inversion.
  for (std::size_t k = 0; k < prompts.size(); ++k) {
    ASSERT_EQ(progress[k].size(), 9u);
    EXPECT_EQ(progress[k].back(), 9 * 100 + 9);
  }

  ASSERT_EQ(batch.images.size(), single.size());
  for (std::size_t k = 0; k < single.size(); ++k) {
    ASSERT_EQ(batch.images[k].prompts.size(), prompts[k].size());
    EXPECT_LE((batch.images[k].z0 - single[k].z0).abs().max().item<float>(), 0.f) << "z0 is encoded image by image";
    for (std::size_t p = 0; p < prompts[k].size(); ++p)
      for (std::size_t c = 0; c < opt.configs.size(); ++c) {
        SCOPED_TRACE(testing::Message() << "image " << k << " prompt " << p << " config " << c);
        expect_same_heatmap(single[k].prompts[p].per_config[c], batch.images[k].prompts[p].per_config[c]);
      }
    // The extra sink of an image gets exactly its single run's maps (same keys, its own prompt indices).
    EXPECT_EQ(single_sinks[k].maps.size(), prompts[k].size() * extra.layers.size() * 9);
    if (!has_sink[k]) continue;
    ASSERT_EQ(batch_sinks[k].maps.size(), single_sinks[k].maps.size()) << "image " << k;
    for (const auto& [key, m] : single_sinks[k].maps) {
      ASSERT_TRUE(batch_sinks[k].maps.count(key)) << "image " << k;
      // Step 0 starts from the same z0: one call's batch rounding (measured 6e-6). Later
      // steps add the unconditional chain's drift (measured up to 7e-5 by step 8).
      const float diff = (batch_sinks[k].maps.at(key) - m).abs().max().item<float>();
      EXPECT_LE(diff, std::get<0>(key) == 0 ? 1e-5f : 1e-4f)
          << "step " << std::get<0>(key) << " layer " << std::get<1>(key);
    }
  }
}

TEST(BatchedImages, RequestsMustShareScheduleAndCapture) {
  pipeline::ModelBundle& models = demo_assets().models;
  pipeline::GroundingOptions opt = small_options();
  opt.mode = diffusion::InversionMode::faithful;
  const std::vector<pipeline::ImageInput> two = {{smooth_image(1), {{"Moderate cardiomegaly.", ""}}, nullptr, {}},
                                                 {smooth_image(2), {{"Moderate cardiomegaly.", ""}}, nullptr, {}}};
  test::expect_error_mentions([&] { pipeline::ground_images(models, two, opt); }, {"fast"});
  // At the diffusion level: another window is refused, not silently merged.
  diffusion::InversionRequest a, b;
  a.z0 = b.z0 = torch::zeros({1, 4, 8, 8});
  a.uncond = b.uncond = torch::zeros({1, 77, 8});
  a.conds = b.conds = torch::zeros({1, 77, 8});
  a.steps = b.steps = std::vector<diffusion::ScheduleStep>(4, diffusion::ScheduleStep{});
  a.layers = b.layers = {0};
  a.mode = b.mode = diffusion::InversionMode::fast;
  a.capture_end = 2;
  b.capture_end = 3;
  RecordingSink s;
  auto never = [](const at::Tensor&, const at::Tensor&, const at::Tensor&, model::AttentionObserver*,
                  int) -> at::Tensor {
    ADD_FAILURE() << "the U-Net ran";
    return {};
  };
  test::expect_error_mentions(
      [&] {
        diffusion::run_batched_inversion(never, {}, {{&a, &s, {}}, {&b, &s, {}}});
      },
      {"image 1", "window"});
}

// The demo dataset's images, each with its pairs, in dataset order.
std::vector<std::vector<const data::Pair*>> demo_images(const data::MsCxrDataset& ds) {
  std::vector<std::vector<const data::Pair*>> out;
  std::map<std::string, std::size_t> at;
  for (const auto& p : ds.pairs()) {
    if (!at.count(p.image_path)) {
      at[p.image_path] = out.size();
      out.emplace_back();
    }
    out[at[p.image_path]].push_back(&p);
  }
  return out;
}

// A sink that fails at the first map of step `step`.
class FailingSink final : public diffusion::AttentionSink {
 public:
  void on_maps(int step, int, int, const at::Tensor&, std::int64_t, std::int64_t) override {
    LDMG_CHECK(step < 5, "disk full (test)");
  }
};

bool same_float(double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); }

// exact: the same computation (one image at a time both sides), bit for bit.
void expect_same_rows(const pipeline::ScoredImage& a, const pipeline::ScoredImage& b, bool exact) {
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (std::size_t k = 0; k < a.rows.size(); ++k)
    for (std::size_t c = 0; c < a.rows[k].size(); ++c) {
      const pipeline::PairRow& x = a.rows[k][c];
      const pipeline::PairRow& y = b.rows[k].at(c);
      SCOPED_TRACE(testing::Message() << "pair " << x.pair << " config " << c);
      EXPECT_EQ(x.pair, y.pair);
      EXPECT_EQ(x.skipped, y.skipped);
      EXPECT_EQ(x.error, y.error);
      if (x.skipped) continue;
      if (exact) {
        EXPECT_TRUE(same_float(x.metrics.cnr, y.metrics.cnr));
        EXPECT_TRUE(same_float(x.metrics.miou, y.metrics.miou));
        EXPECT_TRUE(same_float(x.metrics.auroc, y.metrics.auroc));
        EXPECT_TRUE(same_float(x.otsu_threshold, y.otsu_threshold));
      } else {
        expect_same_metrics(x.metrics, y.metrics, x.otsu_margin);
      }
    }
  ASSERT_EQ(a.heatmaps.size(), b.heatmaps.size());
  for (std::size_t i = 0; i < a.heatmaps.size(); ++i)
    EXPECT_LE((a.heatmaps[i].normalised - b.heatmaps[i].normalised).abs().max().item<float>(), exact ? 0.f : 5e-5f);
}

TEST(BatchedImages, ABadImageFailsAloneBeforeTheBatch) {
  DemoAssets& a = demo_assets();
  const data::MsCxrDataset ds = data::read_ms_cxr(a.data.csv, {.images_root = a.data.images_root});
  const auto images = demo_images(ds);
  ASSERT_GE(images.size(), 3u);
  pipeline::ImageScoringOptions so;
  so.grounding = small_options();
  // The second image's pairs, pointing at a file that does not exist.
  std::vector<data::Pair> missing;
  for (const auto* p : images[1]) {
    missing.push_back(*p);
    missing.back().image_path += ".missing.png";
  }
  std::vector<pipeline::ImageTask> tasks(3);
  tasks[0].pairs = images[0];
  for (const auto& p : missing) tasks[1].pairs.push_back(&p);
  tasks[2].pairs = images[2];
  std::map<std::size_t, pipeline::ImageOutcome> got;
  std::vector<std::size_t> order;
  const long calls = pipeline::score_images(a.models, tasks, so, [&](std::size_t k, pipeline::ImageOutcome&& o) {
    order.push_back(k);
    got[k] = std::move(o);
  });
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order.front(), 1u) << "the bad image is reported first, before the batch runs";
  EXPECT_NE(got[1].error.find(".missing.png"), std::string::npos) << got[1].error;
  const pipeline::ScoredImage one0 = pipeline::score_image_pairs(a.models, images[0], so);
  const pipeline::ScoredImage one2 = pipeline::score_image_pairs(a.models, images[2], so);
  // Images 0 and 2 went through one batch: the calls of one image alone.
  ASSERT_GT(one0.unet_calls, 0);
  EXPECT_EQ(one2.unet_calls, one0.unet_calls);
  EXPECT_EQ(calls, one0.unet_calls);
  for (std::size_t k : {0u, 2u}) EXPECT_TRUE(got[k].error.empty()) << got[k].error;
  expect_same_rows(one0, got[0].scored, /*exact=*/false);
  expect_same_rows(one2, got[2].scored, /*exact=*/false);
}

TEST(BatchedImages, AFailureInTheBatchFailsOnlyItsImage) {
  DemoAssets& a = demo_assets();
  const data::MsCxrDataset ds = data::read_ms_cxr(a.data.csv, {.images_root = a.data.images_root});
  const auto images = demo_images(ds);
  pipeline::ImageScoringOptions so;
  so.grounding = small_options();
  // Image 1's sink fails mid-inversion, every time: the batch fails, then image 1 alone.
  std::vector<int> factory_calls(3, 0);
  std::vector<std::unique_ptr<RecordingSink>> sinks(3);
  FailingSink failing;
  std::vector<pipeline::ImageTask> tasks(3);
  for (std::size_t k = 0; k < 3; ++k) {
    tasks[k].pairs = images[k];
    tasks[k].sink_factory = [&, k](const data::GrayImage&,
                                   const std::vector<const data::Pair*>&) -> diffusion::AttentionSink* {
      ++factory_calls[k];
      if (k == 1) return &failing;
      sinks[k] = std::make_unique<RecordingSink>();  // a second call replaces the first (partial) sink
      return sinks[k].get();
    };
  }
  std::map<std::size_t, pipeline::ImageOutcome> got;
  pipeline::score_images(a.models, tasks, so,
                         [&](std::size_t k, pipeline::ImageOutcome&& o) { got[k] = std::move(o); });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NE(got[1].error.find("disk full (test)"), std::string::npos) << got[1].error;
  EXPECT_EQ(factory_calls, (std::vector<int>{2, 2, 2})) << "batch, then one at a time";
  // The others ran again alone: exactly the single-image numbers, and complete sinks.
  for (std::size_t k : {0u, 2u}) {
    ASSERT_TRUE(got[k].error.empty()) << got[k].error;
    RecordingSink alone;
    const pipeline::ScoredImage one = pipeline::score_image_pairs(
        a.models, images[k], so, [&](const data::GrayImage&, const std::vector<const data::Pair*>&) { return &alone; });
    expect_same_rows(one, got[k].scored, /*exact=*/true);
    EXPECT_EQ(sinks[k]->maps.size(), alone.maps.size());
  }
}

TEST(BatchedImages, AStopRequestIsNotAFailure) {
  DemoAssets& a = demo_assets();
  const data::MsCxrDataset ds = data::read_ms_cxr(a.data.csv, {.images_root = a.data.images_root});
  const auto images = demo_images(ds);
  pipeline::ImageScoringOptions so;
  so.grounding = small_options();
  std::vector<pipeline::ImageTask> tasks(3);
  for (std::size_t k = 0; k < 3; ++k) tasks[k].pairs = images[k];
  int factory_calls = 0;
  tasks[2].sink_factory = [&](const data::GrayImage&,
                              const std::vector<const data::Pair*>&) -> diffusion::AttentionSink* {
    ++factory_calls;
    return nullptr;
  };
  tasks[0].progress = [](int done, int) {
    if (done == 2) throw Interrupted("stop (test)");
  };
  std::vector<std::size_t> delivered;
  EXPECT_THROW(pipeline::score_images(a.models, tasks, so,
                                      [&](std::size_t k, pipeline::ImageOutcome&&) { delivered.push_back(k); }),
               Interrupted);
  EXPECT_TRUE(delivered.empty()) << "nothing of the interrupted batch is delivered";
  EXPECT_EQ(factory_calls, 1) << "no retry one at a time after a stop request";
}

// evaluate --batch-images 4 on the parity fixtures' models and images: the
// rows and normalised heatmaps of --batch-images 1 within batch rounding.
TEST(BatchedImages, FixtureEvaluateBatchOfFourEqualsOneAtATime) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  set_compute_threads(1);
  const std::string fx = test::parity_dir();
  pipeline::ModelPaths paths;
  paths.fill_from_dir(fx + "/models");
  pipeline::ModelBundle models = pipeline::load_models(paths);
  pipeline::EvaluateOptions eo;
  eo.dataset_csv = fx + "/dataset/ms_cxr.csv";
  eo.images_root = fx + "/dataset/images";
  eo.grounding.T = 20;
  eo.grounding.mode = diffusion::InversionMode::fast;
  std::map<int, at::Tensor> norm1, norm4;
  const auto one =
      pipeline::run_evaluation(models, eo, [&](const pipeline::PairHeatmap& h) { norm1[h.pair] = h.normalised; });
  eo.batch_images = 4;
  const auto four =
      pipeline::run_evaluation(models, eo, [&](const pipeline::PairHeatmap& h) { norm4[h.pair] = h.normalised; });
  EXPECT_GE(one.images, 5u) << "the fixtures should give at least two batches";
  EXPECT_LT(four.unet_calls, one.unet_calls);
  ASSERT_EQ(norm1.size(), norm4.size());
  EXPECT_GT(norm1.size(), 3u);
  for (const auto& [pair, h] : norm1)
    EXPECT_LE((h - norm4.at(pair)).abs().max().item<float>(), 5e-5f) << "pair " << pair;
  ASSERT_EQ(one.rows[0].size(), four.rows[0].size());
  int compared = 0, strict = 0;
  for (std::size_t i = 0; i < one.rows[0].size(); ++i) {
    const pipeline::PairRow& x = one.rows[0][i];
    const pipeline::PairRow& y = four.rows[0][i];
    SCOPED_TRACE(testing::Message() << "pair " << x.pair << " Otsu margin " << x.otsu_margin);
    EXPECT_EQ(x.pair, y.pair);
    EXPECT_EQ(x.skipped, y.skipped);
    EXPECT_EQ(x.error, y.error);
    if (x.skipped) continue;
    EXPECT_NEAR(x.otsu_threshold, y.otsu_threshold, 1e-4);
    expect_same_metrics(x.metrics, y.metrics, x.otsu_margin);
    ++compared;
    strict += x.otsu_margin > 1e-4;
  }
  std::cout << compared << " pairs compared, " << strict << " with an Otsu margin > 1e-4\n";
  EXPECT_GT(compared, 3);
}

}  // namespace
}  // namespace ldmg
