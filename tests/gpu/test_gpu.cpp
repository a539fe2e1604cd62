// The gpu label: the checks of the CPU suite repeated on a CUDA device, each
// against an independent reference (the authors' goldens, the faithful loop,
// the same computation on the CPU, the float32 cache read back offline).
// Every test skips with the reason where this build or machine has no CUDA
// device; CI has none, the GPU check kit (scripts/gpu/check.sh) runs them.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>

#include "analysis/offline_analysis.h"
#include "analysis/run_inputs.h"
#include "core/threads.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "pipeline/cuda_graph_replay.h"
#include "pipeline/image_grounder.h"
#include "pipeline/model_bundle.h"
#include "pipeline/pair_scoring.h"
#include "pipeline/parity.h"
#include "support/fixtures.h"
#include "sweep/mpi_env.h"
#include "sweep/runtime_env.h"
#include "sweep/sweep.h"
#include "sweep/unit_result.h"

namespace ldmg {
namespace {

namespace fs = std::filesystem;

// LDMG_GPU_DEVICE overrides the device (default cuda:0).
std::string gpu_device() {
  const char* d = std::getenv("LDMG_GPU_DEVICE");
  return d && *d ? d : "cuda:0";
}

#define LDMG_REQUIRE_CUDA()                                                                             \
  do {                                                                                                  \
    if (!torch::cuda::is_available())                                                                   \
      GTEST_SKIP() << "no CUDA device visible to this build (cuda built in: "                          \
                   << (sweep::runtime_env()["cuda_built"].get<bool>() ? "yes" : "no")                  \
                   << "; `ldmground env` tells why); gpu test skipped";                                \
  } while (0)

pipeline::ModelPaths demo_paths() {
  static const std::string dir = [] {
    const std::string d = test::temp_dir("gpu_demo_model");
    demo::write_demo_model(d);
    return d;
  }();
  pipeline::ModelPaths p;
  p.fill_from_dir(dir);
  return p;
}

at::Tensor test_image() {
  torch::manual_seed(7);
  const at::Tensor smooth = torch::nn::functional::interpolate(
      torch::rand({1, 1, 32, 32}), torch::nn::functional::InterpolateFuncOptions()
                                       .size(std::vector<std::int64_t>{512, 512})
                                       .mode(torch::kBilinear)
                                       .align_corners(false));
  return smooth.clamp(0, 1);
}

const std::vector<pipeline::PromptInput> kPrompts = {{"Small left pleural effusion.", "Pleural effusion"},
                                                     {"Moderate cardiomegaly.", "Cardiomegaly"}};

pipeline::GroundingOptions small_options(diffusion::InversionMode mode) {
  pipeline::GroundingOptions o;
  o.T = 20;
  o.mode = mode;
  pipeline::HeatmapConfig wide;
  wide.layers = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  wide.window_begin = 2;
  wide.window_end = 12;
  o.configs = {pipeline::HeatmapConfig{}, wide};
  return o;
}

// a, b: two groundings of the same image and prompts. Normalised heatmaps
// within `tol`; where Otsu is not within 1e-4 of a pixel, the same mask and
// metrics.
void expect_same_groundings(const pipeline::ImageGrounding& a, const pipeline::ImageGrounding& b, float tol) {
  ASSERT_EQ(a.prompts.size(), b.prompts.size());
  const std::vector<data::Box> boxes = {{100, 120, 150, 180}};
  for (std::size_t p = 0; p < a.prompts.size(); ++p)
    for (std::size_t c = 0; c < a.prompts[p].per_config.size(); ++c) {
      SCOPED_TRACE(testing::Message() << "prompt " << p << " config " << c);
      const auto& x = a.prompts[p].per_config[c];
      const auto& y = b.prompts[p].per_config[c];
      EXPECT_LE((x.post.norm.cpu() - y.post.norm.cpu()).abs().max().item<float>(), tol);
      if (std::isnan(x.post.otsu_margin) || x.post.otsu_margin > 1e-4) {
        EXPECT_EQ(x.post.mask_count, y.post.mask_count);
        const auto mx = pipeline::score_heatmap(x.post.final.cpu(), boxes, 512, 512);
        const auto my = pipeline::score_heatmap(y.post.final.cpu(), boxes, 512, 512);
        EXPECT_NEAR(mx.cnr, my.cnr, 1e-4);
        EXPECT_NEAR(mx.miou, my.miou, 1e-6);
        EXPECT_NEAR(mx.auroc, my.auroc, 1e-6);
      }
    }
}

}  // namespace

TEST(Gpu, BuildSeesTheDevice) {
  LDMG_REQUIRE_CUDA();
  const auto env = sweep::runtime_env();
  std::cout << sweep::format_runtime_env(env);
  EXPECT_TRUE(env["cuda_built"].get<bool>());
  EXPECT_FALSE(env["libtorch_cuda"].get<std::string>().empty());
  EXPECT_GE(env["devices"].size(), 1u);
  const auto m = pipeline::load_models(demo_paths(), gpu_device());
  EXPECT_EQ(m.device, gpu_device());
  EXPECT_TRUE(m.unet->parameters().front().device().is_cuda());
}

// One U-Net call captured as a CUDA graph (what `bench --device cuda` times):
// the replay reads the call's fixed input tensors and gives the eager output.
TEST(Gpu, CudaGraphReplayEqualsEagerCall) {
#if LDMG_HAVE_CUDA
  LDMG_REQUIRE_CUDA();
  auto m = pipeline::load_models(demo_paths(), gpu_device());
  const at::Device dev(gpu_device());
  torch::manual_seed(3);
  const model::UNetConfig& cfg = m.unet->config();
  const at::Tensor x = torch::randn({2, cfg.in_channels, 64, 64}).to(dev);
  const at::Tensor t = at::full({1}, 500, at::TensorOptions(at::kLong).device(dev));
  const at::Tensor ctx = torch::randn({2, 77, cfg.cross_attention_dim}).to(dev);
  const pipeline::GraphReplayTiming g =
      pipeline::time_cuda_graph_replay(dev, [&] { return m.unet->forward(x, t, ctx, nullptr, -1); }, 4);
  const double scale = m.unet->forward(x, t, ctx, nullptr, -1).abs().max().item<double>();
  std::cout << fmt::format("graph replay {:.3f} ms, max |graph - eager| {:.2e} (output max {:.3g})\n",
                           g.replay_seconds.front() * 1e3, g.max_abs_diff, scale);
  ASSERT_EQ(g.replay_seconds.size(), 4u);
  for (double s : g.replay_seconds) EXPECT_GT(s, 0);
  EXPECT_LE(g.max_abs_diff, 1e-5 * std::max(1.0, scale));
  EXPECT_THROW(pipeline::time_cuda_graph_replay(at::Device("cpu"), [&] { return x; }, 1), std::exception);
#else
  GTEST_SKIP() << "not a CUDA build (LibTorch's CUDA part not linked); gpu test skipped";
#endif
}

// Fixture parity on the GPU: every flag equal, metrics within 1e-3, heatmap
// tolerances as on the CPU (pipeline/parity.h).
TEST(Gpu, ParityWithTheAuthorsGoldens) {
  LDMG_REQUIRE_CUDA();
  LDMG_REQUIRE_PARITY_FIXTURES();
  pipeline::ModelPaths paths;
  paths.fill_from_dir(test::parity_dir() + "/models");
  auto models = pipeline::load_models(paths, gpu_device());
  for (const auto mode : {diffusion::InversionMode::faithful, diffusion::InversionMode::fast}) {
    pipeline::ParityOptions opt;
    opt.mode = mode;
    const auto rep = pipeline::check_parity(test::parity_dir(), "T20", models, opt);
    std::cout << rep.table();
    EXPECT_EQ(rep.failures(), 0) << rep.table();
    EXPECT_GT(rep.tallies.at("|CNR|").compared, 0);
  }
}

TEST(Gpu, FastEqualsFaithful) {
  LDMG_REQUIRE_CUDA();
  auto models = pipeline::load_models(demo_paths(), gpu_device());
  const at::Tensor x = test_image();
  const auto faithful = pipeline::ground_image(models, x, kPrompts, small_options(diffusion::InversionMode::faithful));
  const auto fast = pipeline::ground_image(models, x, kPrompts, small_options(diffusion::InversionMode::fast));
  expect_same_groundings(faithful, fast, 5e-5f);
}

// The same grounding on the GPU and on the CPU (float32 both): the GPU's
// kernels sum in other orders, nothing more.
TEST(Gpu, SameHeatmapsAsTheCpu) {
  LDMG_REQUIRE_CUDA();
  set_compute_threads(0);
  auto cpu = pipeline::load_models(demo_paths(), "cpu");
  auto gpu = pipeline::load_models(demo_paths(), gpu_device());
  const at::Tensor x = test_image();
  const auto opt = small_options(diffusion::InversionMode::fast);
  expect_same_groundings(pipeline::ground_image(cpu, x, kPrompts, opt), pipeline::ground_image(gpu, x, kPrompts, opt),
                         1e-4f);
}

// A sweep on the GPU with a float32 cache, re-analysed offline (on the CPU):
// every metric of the sweep's own config within 1e-4 where the Otsu margin
// allows (bit-identity holds CPU to CPU: tests/unit/analysis).
TEST(Gpu, OfflineAnalyzeEqualsOnlineWithFloat32Cache) {
  LDMG_REQUIRE_CUDA();
  const std::string dir = test::temp_dir("gpu_analyze");
  const auto ds = demo::write_demo_dataset(dir + "/data", {.images = 3});
  auto models = pipeline::load_models(demo_paths(), gpu_device());
  sweep::SweepOptions o;
  o.run_dir = dir + "/run";
  o.dataset_csv = ds.csv;
  o.images_root = ds.images_root;
  o.Ts = {10};
  o.grounding.mode = diffusion::InversionMode::fast;
  o.grounding.configs = {pipeline::HeatmapConfig{}};
  o.cache = sweep::CacheMode::full;
  o.cache_options.dtype = cache::CacheDType::f32;
  o.report.bootstrap.resamples = 10;
  o.job_ini = fmt::format("bootstrap = 10\nbox-rule = faithful\ndataset = {}\nimages = {}\nlayers = 3,4,6,7\n"
                          "model-dir = {}\norder = code\notsu = on\nsigma = 2.5\nsteps = 10\ntokens = all\n"
                          "window = paper\n",
                          ds.csv, ds.images_root, fs::path(demo_paths().unet).parent_path().string());
  sweep::MpiEnv env;
  ASSERT_EQ(sweep::run_sweep(env, models, o).exit_code, 0);

  const analysis::RunInputs run(o.run_dir);
  analysis::AnalysisOptions ao;
  ao.configs = run.configs();
  const auto offline = analysis::analyze_run(run, ao).front().rows(0, run.dataset());
  std::map<int, pipeline::PairRow> online;  // pair -> the sweep's own row
  for (const auto& u : run.plan().units)
    for (const auto& per_pair : sweep::read_unit_result(o.run_dir, u.id).rows) online[per_pair.front().pair] = per_pair.front();
  int compared = 0;
  for (const auto& r : offline) {
    ASSERT_TRUE(online.count(r.pair)) << "pair " << r.pair;
    const auto& w = online.at(r.pair);
    EXPECT_EQ(r.skipped, w.skipped) << "pair " << r.pair;
    if (r.skipped || !r.error.empty() || !(w.otsu_margin > 1e-4)) continue;
    ++compared;
    EXPECT_NEAR(r.metrics.miou, w.metrics.miou, 1e-4) << "pair " << r.pair;
    EXPECT_NEAR(r.metrics.auroc, w.metrics.auroc, 1e-4) << "pair " << r.pair;
    EXPECT_NEAR(r.metrics.cnr, w.metrics.cnr, 1e-4) << "pair " << r.pair;
    EXPECT_NEAR(r.otsu_threshold, w.otsu_threshold, 1e-4) << "pair " << r.pair;
  }
  EXPECT_GE(compared, 2);
}

}  // namespace ldmg
