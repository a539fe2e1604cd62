// Real-size models (fixtures/configs, SPEC §5) with random weights: slow
// (hundreds of MB of parameters), so labelled `slow`.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/random_weights.h"
#include "model_test_util.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::model;

TEST(RealSizeUNet, Attn2LayersAsInSpecAndOneStepRuns) {
  const std::string dir = test::shared_dir();
  if (dir.empty()) GTEST_SKIP() << "shared/ not found";
  const UNetConfig cfg = load_unet_config(dir + "/fixtures/configs/ldm/ldm_v0.yaml");
  RandomWeightOptions o;
  o.norm_jitter = 0;
  DiffusionUNet unet = random_diffusion_unet(cfg, o);
  ASSERT_EQ(unet->num_attn2_layers(), 11);
  const auto layers = unet->attn2_layers(64, 64);
  const int sizes[11] = {32, 32, 16, 16, 16, 16, 16, 16, 32, 32, 32};
  for (int i = 0; i < 11; ++i) {
    EXPECT_EQ(layers[i].h, sizes[i]);
    EXPECT_EQ(layers[i].heads, 1);  // 512/512 and 768/768
  }
  EXPECT_EQ(layers[4].name, "middle_block.attention.transformer_blocks.0.attn2");
  const auto p = unet->named_parameters();
  EXPECT_EQ(p["down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"].sizes(),
            (at::IntArrayRef{512, 1024}));
  EXPECT_EQ(p["up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight"].sizes(),
            (at::IntArrayRef{768, 768}));

  c10::InferenceMode guard;
  at::manual_seed(0);
  test::AttentionRecorder rec;
  rec.want = {3, 4, 6, 7};
  const at::Tensor out = unet->forward(at::randn({2, 3, 64, 64}), at::tensor({449}, at::kLong),
                                       at::randn({2, 77, 1024}), &rec);
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 3, 64, 64}));
  ASSERT_EQ(rec.calls.size(), 4u);
  EXPECT_EQ(rec.calls.at(3).probs.sizes(), (at::IntArrayRef{2, 256, 77}));
  // Stop after layer 7: layers 8..10 (32x32) and the output conv are skipped.
  test::AttentionRecorder early;
  early.want = {7};
  EXPECT_FALSE(unet->forward(at::randn({2, 3, 64, 64}), at::tensor({449}, at::kLong), at::randn({2, 77, 1024}),
                             &early, 7)
                   .defined());
}

TEST(RealSizeAutoencoder, EncodesA512Image) {
  const std::string dir = test::shared_dir();
  if (dir.empty()) GTEST_SKIP() << "shared/ not found";
  AutoencoderKL ae = random_autoencoder(load_autoencoder_config(dir + "/fixtures/configs/stage1/aekl_v0.yaml"));
  c10::InferenceMode guard;
  const at::Tensor z = ae->encode_mean(at::rand({1, 1, 512, 512}));
  EXPECT_EQ(z.sizes(), (at::IntArrayRef{1, 3, 64, 64}));
  EXPECT_TRUE(at::isfinite(z).all().item<bool>());
}
