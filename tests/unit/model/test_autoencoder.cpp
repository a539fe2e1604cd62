#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <png.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/check.h"
#include "model/autoencoder_kl.h"
#include "model/random_weights.h"
#include "model/state_dict.h"
#include "model_test_util.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::model;

namespace {

std::string models_dir() { return test::parity_dir() + "/models"; }
std::string ae_yaml() { return models_dir() + "/configs/stage1/aekl_v0.yaml"; }

AutoencoderKL& fixture_ae() {
  static AutoencoderKL ae = load_autoencoder(ae_yaml(), models_dir() + "/autoencoder.safetensors");
  return ae;
}

// 8-bit grayscale PNG -> [H, W] uint8 (libpng simplified API).
at::Tensor read_png_gray(const std::string& path) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str())) throw std::runtime_error("png: " + path);
  img.format = PNG_FORMAT_GRAY;
  at::Tensor out = at::empty({img.height, img.width}, at::kByte);
  if (!png_image_finish_read(&img, nullptr, out.data_ptr(), 0, nullptr)) throw std::runtime_error("png read: " + path);
  return out;
}

// The "ddpm" transform as SPEC §2 describes it, written here independently of
// src/data/ so that the autoencoder can be checked against the golden z_mu:
// /255, shorter side -> 512 (bilinear, align_corners=False, no antialias),
// center crop 512 (start (n-512)//2).
at::Tensor preprocess_512(const at::Tensor& gray) {
  at::Tensor x = gray.to(at::kFloat).div(255.0).unsqueeze(0).unsqueeze(0);  // [1, 1, H, W]
  const std::int64_t H = x.size(2), W = x.size(3);
  std::int64_t oh = 512, ow = 512;
  if (W <= H) oh = static_cast<std::int64_t>(512.0 * H / W);
  else ow = static_cast<std::int64_t>(512.0 * W / H);
  x = at::upsample_bilinear2d(x, {oh, ow}, /*align_corners=*/false);  // [1, 1, oh, ow]
  return x.slice(2, (oh - 512) / 2, (oh - 512) / 2 + 512).slice(3, (ow - 512) / 2, (ow - 512) / 2 + 512);
}

}  // namespace

TEST(AutoencoderKL, FixtureStructureAndStrictLoading) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  auto& ae = fixture_ae();
  std::int64_t n = 0;
  for (const auto& p : ae->parameters()) n += p.numel();
  EXPECT_EQ(n, 74256);  // fixture_notes.json param_counts.autoencoder
  const auto names = ae->named_parameters();
  EXPECT_TRUE(names.contains("encoder.blocks.3.conv.conv.weight"));   // PaddedDownsample
  EXPECT_TRUE(names.contains("encoder.blocks.4.nin_shortcut.conv.weight"));
  EXPECT_TRUE(names.contains("encoder.blocks.12.weight"));           // GroupNorm
  EXPECT_TRUE(names.contains("decoder.blocks.13.conv.weight"));

  // Strictness on encoder keys.
  StateDict sd = load_state_dict(models_dir() + "/autoencoder.safetensors");
  StateDict bad = sd;
  bad.erase("encoder.blocks.7.conv2.conv.weight");
  bad["quant_conv_mu.conv.weight"] = at::zeros({3, 3, 3, 3});
  AutoencoderKL fresh(load_autoencoder_config(ae_yaml()));
  try {
    load_into(*fresh, bad, "ae.safetensors");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("encoder.blocks.7.conv2.conv.weight"), std::string::npos) << m;
    EXPECT_NE(m.find("quant_conv_mu.conv.weight"), std::string::npos) << m;
  }
  // A config with different widths does not load these weights.
  AutoencoderConfig wide = load_autoencoder_config(ae_yaml());
  wide.num_channels = {8, 16, 16, 32};
  EXPECT_THROW(load_autoencoder(wide, models_dir() + "/autoencoder.safetensors"), Error);
}

TEST(AutoencoderKL, PthLoadsTheSameWeights) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  AutoencoderKL pth{nullptr};
  try {
    pth = load_autoencoder(ae_yaml(), models_dir() + "/autoencoder.pth");
  } catch (const std::exception& e) {
    FAIL() << "loading autoencoder.pth: " << e.what();
  }
  for (const auto& p : fixture_ae()->named_parameters())
    EXPECT_TRUE(at::equal(p.value(), pth->named_parameters()[p.key()])) << p.key();
}

TEST(AutoencoderKL, GoldenZ0OfRichPair) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  c10::InferenceMode guard;
  const std::string g = test::parity_dir() + "/golden/T20";
  std::ifstream f(g + "/metrics.json");
  const auto m = nlohmann::json::parse(f);
  const std::string image = test::parity_dir() + "/" + m["per_sample"][0]["image"].get<std::string>();
  const StateDict golden = load_state_dict(g + "/samples/pair00.safetensors");

  const at::Tensor x = preprocess_512(read_png_gray(image));  // [1, 1, 512, 512]
  // The test's own preprocessing must reproduce the golden image first.
  const at::Tensor s8 = x[0][0].slice(0, 0, 512, 8).slice(1, 0, 512, 8);
  const double err_img = test::max_abs_diff(s8, test::golden(golden, "image_512_s8"));
  ASSERT_LT(err_img, 1e-5) << "test preprocessing differs from the golden image";
  EXPECT_LT(test::max_abs_diff(x[0][0].to(at::kDouble).sum(1), test::golden(golden, "image_512_rowsum")), 1e-3);

  const at::Tensor z_mu = fixture_ae()->encode_mean(x);  // [1, 3, 64, 64]
  ASSERT_EQ(z_mu.sizes(), (at::IntArrayRef{1, 3, 64, 64}));
  const double err_mu = test::max_abs_diff(z_mu, test::golden(golden, "z_mu"));
  const double err_z0 = test::max_abs_diff(z_mu * 0.3, test::golden(golden, "z0"));
  std::printf("[golden] image_512_s8 err %.3g, z_mu err %.3g, z0 err %.3g\n", err_img, err_mu, err_z0);
  EXPECT_LT(err_mu, 1e-4);
  EXPECT_LT(err_z0, 1e-4);
  // encode() returns the same mean.
  EXPECT_TRUE(at::equal(fixture_ae()->encode(x).first, z_mu));
}

TEST(AutoencoderKL, AttentionVariantAndDecoderShapes) {
  c10::InferenceMode guard;
  AutoencoderConfig c;
  c.source = "test";
  c.num_channels = {8, 16};
  c.num_res_blocks = {1, 1};
  c.attention_levels = {false, true};
  c.norm_num_groups = 4;
  c.latent_channels = 2;
  AutoencoderKL ae = random_autoencoder(c);
  const auto names = ae->named_parameters();
  // blocks: 0 conv, 1 res, 2 down, 3 res(8->16), 4 attn, 5 res, 6 attn, 7 res, 8 norm, 9 conv
  EXPECT_TRUE(names.contains("encoder.blocks.4.to_q.weight"));
  EXPECT_TRUE(names.contains("encoder.blocks.6.proj_attn.bias"));
  EXPECT_TRUE(names.contains("encoder.blocks.9.conv.weight"));
  at::manual_seed(0);
  const at::Tensor x = at::rand({2, 1, 32, 24});
  const at::Tensor z = ae->encode_mean(x);
  EXPECT_EQ(z.sizes(), (at::IntArrayRef{2, 2, 16, 12}));
  EXPECT_EQ(ae->decode(z).sizes(), (at::IntArrayRef{2, 1, 32, 24}));
  EXPECT_THROW(ae->encode_mean(at::rand({1, 3, 32, 32})), Error);
}
