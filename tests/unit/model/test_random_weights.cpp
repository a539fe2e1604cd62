#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/random_weights.h"
#include "model_test_util.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::model;

namespace {
UNetConfig tiny_unet() {
  UNetConfig c;
  c.source = "tiny";
  c.in_channels = 3;
  c.out_channels = 3;
  c.num_channels = {16, 32};
  c.num_res_blocks = {1, 1};
  c.attention_levels = {false, true};
  c.num_head_channels = {0, 16};
  c.norm_num_groups = 8;
  c.with_conditioning = true;
  c.cross_attention_dim = 8;
  return c;
}
}  // namespace

TEST(RandomWeights, DeterministicPerSeed) {
  RandomWeightOptions a, b;
  a.seed = b.seed = 7;
  DiffusionUNet u1 = random_diffusion_unet(tiny_unet(), a), u2 = random_diffusion_unet(tiny_unet(), b);
  b.seed = 8;
  DiffusionUNet u3 = random_diffusion_unet(tiny_unet(), b);
  bool any_diff = false;
  for (const auto& p : u1->named_parameters()) {
    EXPECT_TRUE(at::equal(p.value(), u2->named_parameters()[p.key()])) << p.key();
    any_diff |= !at::equal(p.value(), u3->named_parameters()[p.key()]);
  }
  EXPECT_TRUE(any_diff);
}

TEST(RandomWeights, ZeroInitConvsAreRandomAndNormsJittered) {
  RandomWeightOptions o;
  o.attn2_qk_scale = 3.0;
  DiffusionUNet u = random_diffusion_unet(tiny_unet(), o);
  const auto p = u->named_parameters();
  for (const char* k : {"out.2.conv.weight", "down_blocks.0.resnets.0.conv2.conv.weight",
                        "down_blocks.1.attentions.0.proj_out.conv.weight"})
    EXPECT_GT(p[k].abs().max().item<float>(), 0.f) << k;
  const at::Tensor gn = p["out.0.weight"];
  EXPECT_GT((gn - 1).abs().max().item<float>(), 0.f);
  EXPECT_LT((gn - 1).abs().max().item<float>(), 0.6f);
  // Default-init bound 1/sqrt(fan_in); attn2 to_q scaled by 3.
  const at::Tensor w = p["conv_in.conv.weight"];  // fan_in 27
  EXPECT_LE(w.abs().max().item<float>(), 1.0 / std::sqrt(27.0) + 1e-7);
  const at::Tensor q = p["down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q.weight"];  // fan_in 32
  EXPECT_GT(q.abs().max().item<float>(), 1.0 / std::sqrt(32.0));
  EXPECT_LE(q.abs().max().item<float>(), 3.0 / std::sqrt(32.0) + 1e-6);
  EXPECT_FALSE(w.requires_grad());

  c10::InferenceMode guard;
  at::manual_seed(1);
  const at::Tensor out = u->forward(at::randn({2, 3, 8, 8}), at::tensor({3}, at::kLong), at::randn({2, 5, 8}));
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 3, 8, 8}));
  EXPECT_GT(out.abs().max().item<float>(), 1e-3f);
}

TEST(RandomWeights, AutoencoderFromRealConfigShapes) {
  const std::string dir = test::shared_dir();
  if (dir.empty()) GTEST_SKIP() << "shared/ not found";
  AutoencoderKL ae = random_autoencoder(load_autoencoder_config(dir + "/fixtures/configs/stage1/aekl_v0.yaml"));
  c10::InferenceMode guard;
  const at::Tensor z = ae->encode_mean(at::rand({1, 1, 64, 64}));
  EXPECT_EQ(z.sizes(), (at::IntArrayRef{1, 3, 8, 8}));
}
