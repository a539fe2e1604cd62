// --precision bf16|fp16: the U-Net in 16-bit arithmetic, everything around
// it in float32. Checked on the demo model (CPU): the observer still gets
// float32 probabilities, the heatmaps stay close to fp32's, a bf16 U-Net
// cannot be turned back into fp32, and the unit names of a sweep differ.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/check.h"
#include "demo/demo_model.h"
#include "model/precision.h"
#include "pipeline/image_grounder.h"
#include "pipeline/model_bundle.h"
#include "support/fixtures.h"

namespace ldmg {
namespace {

namespace fs = std::filesystem;

pipeline::ModelPaths demo_paths() {
  static const pipeline::ModelPaths paths = [] {
    const fs::path d = fs::path(test::temp_dir("precision")) / "models";
    demo::write_demo_model(d);
    pipeline::ModelPaths p;
    p.fill_from_dir(d.string());
    return p;
  }();
  return paths;
}

at::Tensor smooth_image() {
  torch::manual_seed(11);
  return torch::nn::functional::interpolate(
             torch::rand({1, 1, 32, 32}),
             torch::nn::functional::InterpolateFuncOptions().size(std::vector<std::int64_t>{512, 512})
                 .mode(torch::kBilinear).align_corners(false))
      .clamp(0, 1);
}

// Every captured map must arrive as float32, whatever the U-Net computes in.
class DtypeCheckingSink final : public diffusion::AttentionSink {
 public:
  void on_maps(int, int, int, const at::Tensor& probs, std::int64_t, std::int64_t) override {
    ++maps;
    if (probs.scalar_type() != at::kFloat) ++not_float;
    max_row_sum_error = std::max(max_row_sum_error, (probs.sum(-1) - 1).abs().max().item<double>());
  }
  int maps = 0, not_float = 0;
  double max_row_sum_error = 0;
};

TEST(Precision, ParsesAndNamesItsValues) {
  EXPECT_EQ(model::parse_precision("bf16"), model::Precision::bf16);
  EXPECT_EQ(model::to_string(model::Precision::fp16), "fp16");
  EXPECT_EQ(model::scalar_type(model::Precision::bf16), at::kBFloat16);
  EXPECT_EQ(model::parse_precision("tf32"), model::Precision::tf32);
  EXPECT_EQ(model::scalar_type(model::Precision::tf32), at::kFloat);  // float32 weights, TF32 math on CUDA only
  try {
    model::parse_precision("fp8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'fp8'"), std::string::npos);
  }
}

TEST(Precision, SixteenBitUNetStaysCloseToFloat32) {
  pipeline::GroundingOptions opt;
  opt.T = 20;
  opt.mode = diffusion::InversionMode::fast;
  const at::Tensor x = smooth_image();
  const std::vector<pipeline::PromptInput> prompts = {{"Small left pleural effusion.", "Pleural effusion"}};
  pipeline::ModelBundle fp32 = pipeline::load_models(demo_paths());
  const auto ref = pipeline::ground_image(fp32, x, prompts, opt);
  const at::Tensor ref_norm = ref.prompts[0].per_config[0].post.norm;
  // Measured on this model (T=20, 21 steps): bf16 max 0.32 / mean 0.017,
  // fp16 max 0.020 / mean 0.0020. bf16 keeps 8 mantissa bits, fp16 11: its
  // per-call error (~4e-3) compounds along the inversion chain. The bounds
  // leave about 2x; they catch a U-Net left in fp32 (the >0 check) or a
  // stage cast wrongly (errors of order 1).
  for (const auto& [precision, max_bound, mean_bound] :
       {std::tuple{model::Precision::bf16, 0.6, 0.04}, std::tuple{model::Precision::fp16, 0.05, 0.005}}) {
    SCOPED_TRACE(model::to_string(precision));
    pipeline::ModelBundle low = pipeline::load_models(demo_paths(), "cpu", precision);
    ASSERT_EQ(low.unet_precision, precision);
    for (const auto& p : low.unet->parameters()) ASSERT_EQ(p.scalar_type(), model::scalar_type(precision));
    DtypeCheckingSink dtypes;
    const auto got = pipeline::ground_image(low, x, prompts, opt, &dtypes);
    EXPECT_GT(dtypes.maps, 0);
    EXPECT_EQ(dtypes.not_float, 0);
    EXPECT_LT(dtypes.max_row_sum_error, 1e-5);  // softmax in float32
    EXPECT_EQ(got.z0.scalar_type(), at::kFloat);
    const at::Tensor d = (got.prompts[0].per_config[0].post.norm - ref_norm).abs();
    std::printf("%s vs fp32: normalised heatmap max |d| %.3g, mean |d| %.3g\n", model::to_string(precision).c_str(),
                d.max().item<double>(), d.mean().item<double>());
    EXPECT_LT(d.max().item<double>(), max_bound);
    EXPECT_LT(d.mean().item<double>(), mean_bound);
    EXPECT_GT(d.max().item<double>(), 0.0);  // it really ran in 16 bits
  }
}

TEST(Precision, ReducedUNetCannotGoBackToFloat32) {
  pipeline::ModelBundle m = pipeline::load_models(demo_paths(), "cpu", model::Precision::bf16);
  try {
    m.set_unet_precision(model::Precision::fp32);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already bf16"), std::string::npos) << e.what();
  }
  m.set_unet_precision(model::Precision::bf16);  // no-op
}

}  // namespace
}  // namespace ldmg
