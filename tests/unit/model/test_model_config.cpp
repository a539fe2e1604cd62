#include <gtest/gtest.h>

#include <string>

#include "core/check.h"
#include "model/model_config.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::model;

namespace {
// Expects an ldmg::Error whose message contains every `needle`.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

const char* kTinyLdm = R"(
ldm:
  base_lr: 2.5e-05
  params:
    spatial_dims: 2
    in_channels: 3
    out_channels: 3
    num_res_blocks: 2
    num_channels: [32, 48, 64]
    attention_levels: [false, true, true]
    norm_num_groups: 16
    norm_eps: 1.0e-06
    with_conditioning: true
    cross_attention_dim: 32
    num_head_channels: [0, 48, 64]
  scheduler: {schedule: scaled_linear_beta, num_train_timesteps: 1000, beta_start: 0.0015,
    beta_end: 0.0205, prediction_type: v_prediction}
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}
}  // namespace

TEST(ModelConfig, RealAutoencoderConfigAndUpstreamDefaults) {
  const std::string dir = test::shared_dir();
  if (dir.empty()) GTEST_SKIP() << "shared/ not found";
  const auto c = load_autoencoder_config(dir + "/fixtures/configs/stage1/aekl_v0.yaml");
  EXPECT_EQ(c.spatial_dims, 2);
  EXPECT_EQ(c.in_channels, 1);
  EXPECT_EQ(c.out_channels, 1);
  EXPECT_EQ(c.num_channels, (std::vector<int>{64, 128, 128, 128}));
  EXPECT_EQ(c.num_res_blocks, (std::vector<int>{2, 2, 2, 2}));  // int 2 repeated per level
  EXPECT_EQ(c.attention_levels, (std::vector<bool>{false, false, false, false}));
  EXPECT_EQ(c.latent_channels, 3);
  EXPECT_EQ(c.norm_num_groups, 32);  // not in the YAML: AutoencoderKL default
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-6);
  EXPECT_FALSE(c.with_encoder_nonlocal_attn);
  EXPECT_FALSE(c.with_decoder_nonlocal_attn);
}

TEST(ModelConfig, RealUNetAndSchedulerConfig) {
  const std::string dir = test::shared_dir();
  if (dir.empty()) GTEST_SKIP() << "shared/ not found";
  const std::string path = dir + "/fixtures/configs/ldm/ldm_v0.yaml";
  const auto u = load_unet_config(path);
  EXPECT_EQ(u.in_channels, 3);
  EXPECT_EQ(u.out_channels, 3);
  EXPECT_EQ(u.num_channels, (std::vector<int>{256, 512, 768}));
  EXPECT_EQ(u.num_res_blocks, (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(u.attention_levels, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(u.num_head_channels, (std::vector<int>{0, 512, 768}));
  EXPECT_TRUE(u.with_conditioning);
  EXPECT_EQ(u.cross_attention_dim, 1024);
  EXPECT_EQ(u.norm_num_groups, 32);
  EXPECT_DOUBLE_EQ(u.norm_eps, 1e-6);
  EXPECT_EQ(u.transformer_num_layers, 1);
  EXPECT_FALSE(u.resblock_updown);
  const auto s = load_scheduler_config(path);
  EXPECT_EQ(s.schedule, NoiseSchedule::ScaledLinear);
  EXPECT_EQ(s.num_train_timesteps, 1000);
  EXPECT_DOUBLE_EQ(s.beta_start, 0.0015);
  EXPECT_DOUBLE_EQ(s.beta_end, 0.0205);
  EXPECT_EQ(s.prediction_type, PredictionType::VPrediction);
  EXPECT_FALSE(s.clip_sample);
  EXPECT_EQ(to_string(s.schedule), "scaled_linear_beta");
  EXPECT_EQ(to_string(s.prediction_type), "v_prediction");
}

TEST(ModelConfig, TinyParityConfigs) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const std::string dir = test::parity_dir() + "/models/configs";
  const auto u = load_unet_config(dir + "/ldm/ldm_v0.yaml");
  EXPECT_EQ(u.num_channels, (std::vector<int>{32, 48, 64}));
  EXPECT_EQ(u.norm_num_groups, 16);
  EXPECT_EQ(u.cross_attention_dim, 32);
  const auto a = load_autoencoder_config(dir + "/stage1/aekl_v0.yaml");
  EXPECT_EQ(a.num_channels, (std::vector<int>{8, 16, 16, 16}));
  EXPECT_EQ(a.norm_num_groups, 4);
}

TEST(ModelConfig, UNetDefaultsWhenKeysAreAbsent) {
  const auto u = parse_unet_config("ldm:\n  params:\n    spatial_dims: 2\n    in_channels: 4\n    out_channels: 4\n",
                                   "mem.yaml");
  EXPECT_EQ(u.num_channels, (std::vector<int>{32, 64, 64, 64}));
  EXPECT_EQ(u.attention_levels, (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(u.num_head_channels, (std::vector<int>{8, 8, 8, 8}));  // int 8 repeated
  EXPECT_EQ(u.num_res_blocks, (std::vector<int>{2, 2, 2, 2}));
  EXPECT_FALSE(u.with_conditioning);
  EXPECT_EQ(u.cross_attention_dim, 0);
}

TEST(ModelConfig, UnknownKeyNamesKeyAndFile) {
  expect_error([] { parse_unet_config(replace(kTinyLdm, "norm_eps:", "norm_epsilon:"), "tiny.yaml"); },
               {"tiny.yaml", "ldm.params.norm_epsilon", "unknown key"});
  expect_error(
      [] {
        parse_autoencoder_config("stage1:\n  params:\n    spatial_dims: 2\n    latent_chanels: 3\n", "ae.yaml");
      },
      {"ae.yaml", "stage1.params.latent_chanels"});
  expect_error([] { parse_scheduler_config(replace(kTinyLdm, "beta_end:", "beta_stop:"), "s.yaml"); },
               {"s.yaml", "ldm.scheduler.beta_stop"});
}

TEST(ModelConfig, BadValuesAreClearErrors) {
  // channels not divisible by norm groups
  expect_error([] { parse_unet_config(replace(kTinyLdm, "[32, 48, 64]", "[32, 40, 64]"), "t.yaml"); },
               {"t.yaml", "norm_num_groups", "40"});
  // attention_levels length mismatch
  expect_error([] { parse_unet_config(replace(kTinyLdm, "[false, true, true]", "[false, true]"), "t.yaml"); },
               {"attention_levels", "2", "3"});
  // num_head_channels length mismatch
  expect_error([] { parse_unet_config(replace(kTinyLdm, "[0, 48, 64]", "[0, 48]"), "t.yaml"); },
               {"num_head_channels"});
  // num_head_channels 0 at an attention level
  expect_error([] { parse_unet_config(replace(kTinyLdm, "[0, 48, 64]", "[0, 0, 64]"), "t.yaml"); },
               {"num_head_channels[1]"});
  // wrong type
  expect_error([] { parse_unet_config(replace(kTinyLdm, "in_channels: 3", "in_channels: three"), "t.yaml"); },
               {"ldm.params.in_channels", "integer", "three"});
  // conditioning without a context size
  expect_error([] { parse_unet_config(replace(kTinyLdm, "cross_attention_dim: 32", "cross_attention_dim: null"), "t.yaml"); },
               {"cross_attention_dim"});
  expect_error([] { parse_unet_config(replace(kTinyLdm, "spatial_dims: 2", "spatial_dims: 3"), "t.yaml"); },
               {"spatial_dims"});
  expect_error([] { parse_scheduler_config(replace(kTinyLdm, "schedule: scaled_linear_beta", "schedule: quadratic"), "t.yaml"); },
               {"quadratic", "schedule"});
  expect_error([] { parse_scheduler_config(replace(kTinyLdm, "prediction_type: v_prediction", "prediction_type: x0"), "t.yaml"); },
               {"x0", "prediction_type"});
  expect_error([] { parse_scheduler_config(replace(kTinyLdm, "beta_start: 0.0015,", ""), "t.yaml"); },
               {"ldm.scheduler.beta_start", "required"});
  expect_error([] { parse_autoencoder_config(kTinyLdm, "ldm.yaml"); }, {"ldm.yaml", "stage1"});
  expect_error([] { parse_unet_config("ldm: [1, 2", "broken.yaml"); }, {"broken.yaml", "YAML"});
  expect_error([] { load_unet_config("/nonexistent/ldm.yaml"); }, {"/nonexistent/ldm.yaml"});
  expect_error(
      [] {
        parse_autoencoder_config(
            "stage1:\n  params:\n    spatial_dims: 2\n    num_channels: [8, 16]\n    norm_num_groups: 8\n    attention_levels: [false]\n",
            "ae.yaml");
      },
      {"attention_levels", "1", "2"});
}

// The list keys both models share (num_channels, num_res_blocks,
// attention_levels; num_head_channels too): one reader, so the same rules
// and messages for the autoencoder and the U-Net.
TEST(ModelConfig, ListsNameTheBadEntryAndAnIntRepeatsPerLevel) {
  const std::string ae = "stage1:\n  params:\n    spatial_dims: 2\n    num_channels: [8, 16]\n    norm_num_groups: 8\n"
                         "    attention_levels: [false, true]\n    num_res_blocks: 1\n";
  const auto a = parse_autoencoder_config(ae, "ae.yaml");
  EXPECT_EQ(a.num_res_blocks, (std::vector<int>{1, 1}));
  EXPECT_EQ(a.attention_levels, (std::vector<bool>{false, true}));
  expect_error([&] { parse_autoencoder_config(replace(ae, "[false, true]", "[false, maybe]"), "ae.yaml"); },
               {"ae.yaml", "stage1.params.attention_levels[1]", "true or false", "maybe"});
  expect_error([&] { parse_autoencoder_config(replace(ae, "[false, true]", "false"), "ae.yaml"); },
               {"stage1.params.attention_levels", "a list of booleans"});
  expect_error(
      [&] { parse_autoencoder_config(replace(ae, "num_res_blocks: 1", "num_res_blocks: [1, 2, 3]"), "ae.yaml"); },
      {"ae.yaml", "num_res_blocks has 3 entries but num_channels has 2"});
  expect_error([&] { parse_autoencoder_config(ae + "    norm_eps: 0\n", "ae.yaml"); }, {"ae.yaml", "norm_eps"});
  expect_error([&] { parse_autoencoder_config(ae + "    latent_channels: 0\n", "ae.yaml"); },
               {"ae.yaml", "latent_channels must be positive"});

  const auto u = parse_unet_config(replace(replace(kTinyLdm, "num_res_blocks: 2", "num_res_blocks: [1, 2, 3]"),
                                           "[0, 48, 64]", "16"),
                                   "t.yaml");
  EXPECT_EQ(u.num_res_blocks, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(u.num_head_channels, (std::vector<int>{16, 16, 16}));
  expect_error([] { parse_unet_config(replace(kTinyLdm, "[32, 48, 64]", "32"), "t.yaml"); },
               {"t.yaml", "ldm.params.num_channels", "a list of integers"});
  expect_error([] { parse_unet_config(replace(kTinyLdm, "num_res_blocks: 2", "num_res_blocks: [2, x, 2]"), "t.yaml"); },
               {"t.yaml", "ldm.params.num_res_blocks[1]", "an integer", "x"});
  expect_error([] { parse_unet_config(replace(kTinyLdm, "[0, 48, 64]", "[0, 48.5, 64]"), "t.yaml"); },
               {"ldm.params.num_head_channels[1]", "an integer", "48.5"});
}
