#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"
#include "model/diffusion_unet.h"
#include "model/random_weights.h"
#include "model/state_dict.h"
#include "model_test_util.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::model;

namespace {

std::string models_dir() { return test::parity_dir() + "/models"; }
std::string unet_yaml() { return models_dir() + "/configs/ldm/ldm_v0.yaml"; }

// The tiny fixture U-Net, loaded once.
DiffusionUNet& fixture_unet() {
  static DiffusionUNet unet = load_diffusion_unet(unet_yaml(), models_dir() + "/diffusion_model.safetensors");
  return unet;
}

// Inputs of the rich pair at step t_min: batch [z, z], context [uncond, cond].
struct StepInputs {
  at::Tensor x, t, context;
  StateDict golden;
  std::int64_t n_tokens = 0;
};

const StepInputs& rich_pair() {
  static StepInputs in = [] {
    StepInputs s;
    const std::string g = test::parity_dir() + "/golden/T20";
    s.golden = load_state_dict(g + "/samples/pair00.safetensors");
    std::ifstream f(g + "/metrics.json");
    const auto m = nlohmann::json::parse(f);
    const auto& p0 = m["per_sample"][0];
    const int t_min = m["t_min"].get<int>();
    EXPECT_EQ(t_min, 8);  // T//2 - 10*T//100 for T=20
    EXPECT_EQ(p0["steps_window"][0].get<int>(), t_min);
    const std::int64_t timestep = p0["timesteps_run"][t_min].get<std::int64_t>();
    EXPECT_EQ(timestep, 449);
    const at::Tensor z = test::golden(s.golden, "latent_before_window");  // [3, 64, 64]
    s.x = at::stack({z, z});                                                // [2, 3, 64, 64]
    s.t = at::tensor({timestep}, at::kLong);                                // [1], as sampler.py:104
    s.context = test::golden(s.golden, "prompt_embeds");                   // [2, 77, 32]
    s.n_tokens = test::golden(s.golden, "input_ids").size(0);
    return s;
  }();
  return in;
}

std::string layer_key(const char* prefix, int l) { return fmt::format("{}.L{:02d}", prefix, l); }

}  // namespace

TEST(DiffusionUNet, FixtureStructure) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  auto& unet = fixture_unet();
  std::int64_t n = 0;
  for (const auto& p : unet->parameters()) n += p.numel();
  EXPECT_EQ(n, 2045059);  // fixture_notes.json param_counts.diffusion_model
  ASSERT_EQ(unet->num_attn2_layers(), 11);
  const auto layers = unet->attn2_layers(64, 64);
  const char* names[11] = {"down_blocks.1.attentions.0", "down_blocks.1.attentions.1", "down_blocks.2.attentions.0",
                           "down_blocks.2.attentions.1", "middle_block.attention",     "up_blocks.0.attentions.0",
                           "up_blocks.0.attentions.1",   "up_blocks.0.attentions.2",   "up_blocks.1.attentions.0",
                           "up_blocks.1.attentions.1",   "up_blocks.1.attentions.2"};
  const int sizes[11] = {32, 32, 16, 16, 16, 16, 16, 16, 32, 32, 32};  // SPEC §5
  for (int i = 0; i < 11; ++i) {
    EXPECT_EQ(layers[i].index, i);
    EXPECT_EQ(layers[i].name, std::string(names[i]) + ".transformer_blocks.0.attn2");
    EXPECT_EQ(layers[i].h, sizes[i]);
    EXPECT_EQ(layers[i].w, sizes[i]);
    EXPECT_EQ(layers[i].heads, 1);
  }
}

TEST(DiffusionUNet, GoldenStepTmin) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  c10::InferenceMode guard;
  auto& unet = fixture_unet();
  const auto& in = rich_pair();
  test::AttentionRecorder rec;
  rec.all = true;
  at::Tensor out = unet->forward(in.x, in.t, in.context, &rec);  // [2, 3, 64, 64]
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 3, 64, 64}));

  const double err_v = test::max_abs_diff(out[0], test::golden(in.golden, "v_pred_uncond_step_tmin"));
  std::printf("[golden] v_pred_uncond_step_tmin max abs err %.3g\n", err_v);
  EXPECT_LT(err_v, 1e-4);
  // Guidance 0: the uncond half is the latent update; the cond half differs.
  EXPECT_GT(test::max_abs_diff(out[0], out[1]), 1e-3);

  ASSERT_EQ(rec.order.size(), 11u);
  for (int l = 0; l < 11; ++l) EXPECT_EQ(rec.order[l], l);
  double worst_tok = 0, worst_full = 0;
  const auto layers = unet->attn2_layers(64, 64);
  for (int l = 0; l < 11; ++l) {
    const auto& call = rec.calls.at(l);
    EXPECT_EQ(call.heads, 1);
    EXPECT_EQ(call.h, layers[l].h);
    EXPECT_EQ(call.w, layers[l].w);
    EXPECT_EQ(call.probs.scalar_type(), at::kFloat);
    ASSERT_EQ(call.probs.sizes(), (at::IntArrayRef{2, layers[l].h * layers[l].w, 77}));
    const at::Tensor tok = call.probs.slice(2, 0, in.n_tokens);  // [2, HW, n]
    const double e = test::max_abs_diff(tok, test::golden(in.golden, layer_key("attn_step_tmin_tok", l)));
    worst_tok = std::max(worst_tok, e);
    EXPECT_LT(e, 1e-5) << "layer " << l;
  }
  for (int l : {3, 4, 6, 7}) {
    const double e = test::max_abs_diff(rec.calls.at(l).probs, test::golden(in.golden, layer_key("attn_step_tmin_full", l)));
    worst_full = std::max(worst_full, e);
    EXPECT_LT(e, 1e-5) << "layer " << l;
  }
  std::printf("[golden] attn_step_tmin_tok max abs err %.3g, attn_step_tmin_full %.3g\n", worst_tok, worst_full);
  // attn_sel_cond[:, 0] = layers 3,4,6,7, cond half, step t_min.
  const at::Tensor sel = test::golden(in.golden, "attn_sel_cond");  // [4, W, 256, n]
  int k = 0;
  for (int l : {3, 4, 6, 7})
    EXPECT_LT(test::max_abs_diff(rec.calls.at(l).probs[1].slice(1, 0, in.n_tokens), sel[k++][0]), 1e-5);
}

TEST(DiffusionUNet, FusedAndExplicitAttentionAgree) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  c10::InferenceMode guard;
  auto& unet = fixture_unet();
  const auto& in = rich_pair();
  test::AttentionRecorder all;
  all.all = true;
  const at::Tensor explicit_out = unet->forward(in.x, in.t, in.context, &all);
  const at::Tensor fused_out = unet->forward(in.x, in.t, in.context, nullptr);
  const double e = test::max_abs_diff(explicit_out, fused_out);
  std::printf("[fused vs explicit] U-Net output max abs diff %.3g\n", e);
  EXPECT_LT(e, 1e-5);
  // Only layer 7 explicit, all others fused upstream of it: same maps.
  test::AttentionRecorder one;
  one.want = {7};
  unet->forward(in.x, in.t, in.context, &one);
  ASSERT_EQ(one.calls.size(), 1u);
  EXPECT_LT(test::max_abs_diff(one.calls.at(7).probs, all.calls.at(7).probs), 1e-5);
}

TEST(DiffusionUNet, StopAfterAttn2) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  c10::InferenceMode guard;
  auto& unet = fixture_unet();
  const auto& in = rich_pair();
  test::AttentionRecorder full;
  full.all = true;
  unet->forward(in.x, in.t, in.context, &full);
  for (int stop : {0, 4, 7, 10}) {
    test::AttentionRecorder rec;
    rec.all = true;
    const at::Tensor out = unet->forward(in.x, in.t, in.context, &rec, stop);
    EXPECT_FALSE(out.defined()) << "stop " << stop;
    ASSERT_EQ(rec.calls.size(), static_cast<std::size_t>(stop + 1)) << "stop " << stop;
    for (int l = 0; l <= stop; ++l) EXPECT_TRUE(at::equal(rec.calls.at(l).probs, full.calls.at(l).probs));
  }
  EXPECT_THROW(unet->forward(in.x, in.t, in.context, nullptr, 11), Error);
}

TEST(DiffusionUNet, InputChecks) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  c10::InferenceMode guard;
  auto& unet = fixture_unet();
  const at::Tensor x = at::zeros({2, 3, 64, 64}), t = at::tensor({10}, at::kLong), ctx = at::zeros({2, 77, 32});
  EXPECT_THROW(unet->forward(at::zeros({2, 4, 64, 64}), t, ctx), Error);   // channels
  EXPECT_THROW(unet->forward(at::zeros({2, 3, 62, 64}), t, ctx), Error);   // not a multiple of 4
  EXPECT_THROW(unet->forward(x, t, at::zeros({2, 77, 16})), Error);       // context dim
  EXPECT_THROW(unet->forward(x, t, at::Tensor()), Error);                 // context required
  EXPECT_THROW(unet->forward(x, at::tensor({1, 2, 3}, at::kLong), ctx), Error);
  // Per-sample timesteps [B] equal to a broadcast [1].
  const at::Tensor a = unet->forward(x, t, ctx), b = unet->forward(x, at::tensor({10, 10}, at::kLong), ctx);
  EXPECT_LT(test::max_abs_diff(a, b), 5e-5);  // different GEMM shapes in time_embed
}

namespace {
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(DiffusionUNet, StrictLoadingListsEveryProblem) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const UNetConfig cfg = load_unet_config(unet_yaml());
  StateDict sd = load_state_dict(models_dir() + "/diffusion_model.safetensors");
  {
    DiffusionUNet unet(cfg);
    EXPECT_NO_THROW(load_into(*unet, sd, "ok"));
  }
  const std::string removed = "up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight";
  const std::string reshaped = "middle_block.attention.proj_in.conv.weight";
  StateDict bad = sd;
  bad.erase(removed);
  bad["down_blocks.9.extra.weight"] = at::zeros({3});
  bad[reshaped] = at::zeros({64, 64, 3, 3});
  DiffusionUNet unet(cfg);
  const std::string msg = error_of([&] { load_into(*unet, bad, "bad.safetensors"); });
  EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 missing key(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(removed), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 unexpected key(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("down_blocks.9.extra.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 mis-shaped key(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(reshaped), std::string::npos) << msg;

  // A config that does not match the weights (different cross_attention_dim).
  UNetConfig other = cfg;
  other.cross_attention_dim = 48;
  const std::string msg2 = error_of([&] { load_diffusion_unet(other, models_dir() + "/diffusion_model.safetensors"); });
  EXPECT_NE(msg2.find("attn2.to_k.weight"), std::string::npos) << msg2;
}

TEST(DiffusionUNet, PthAndSafetensorsLoadTheSameWeights) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  DiffusionUNet pth{nullptr};
  try {
    pth = load_diffusion_unet(unet_yaml(), models_dir() + "/diffusion_model.pth");
  } catch (const std::exception& e) {
    FAIL() << "loading diffusion_model.pth: " << e.what();
  }
  auto a = fixture_unet()->named_parameters();
  auto b = pth->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) EXPECT_TRUE(at::equal(p.value(), b[p.key()])) << p.key();
}

TEST(DiffusionUNet, WrittenWeightsReloadExactly) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const std::string dir = test::temp_dir("unet");
  const std::string path = dir + "/unet.safetensors";
  io::write_safetensors(path, module_blobs(*fixture_unet()), {{"format", "pt"}});
  DiffusionUNet again = load_diffusion_unet(unet_yaml(), path);
  for (const auto& p : fixture_unet()->named_parameters())
    EXPECT_TRUE(at::equal(p.value(), again->named_parameters()[p.key()])) << p.key();
}

TEST(DiffusionUNet, UnconditionedAndResblockUpdownVariantsRun) {
  c10::InferenceMode guard;
  UNetConfig c;
  c.source = "test";
  c.in_channels = 2;
  c.out_channels = 2;
  c.num_channels = {16, 32};
  c.num_res_blocks = {1, 2};
  c.attention_levels = {false, true};
  c.num_head_channels = {0, 16};  // 2 heads of self-attention
  c.norm_num_groups = 8;
  c.resblock_updown = true;
  DiffusionUNet u = random_diffusion_unet(c);
  EXPECT_EQ(u->num_attn2_layers(), 0);
  const auto names = u->named_parameters();
  EXPECT_TRUE(names.contains("down_blocks.1.attentions.0.proj_attn.weight"));
  EXPECT_TRUE(names.contains("down_blocks.0.downsampler.conv1.conv.weight"));  // a ResnetBlock
  EXPECT_TRUE(names.contains("up_blocks.0.upsampler.time_emb_proj.weight"));
  EXPECT_TRUE(names.contains("middle_block.attention.to_q.bias"));
  at::manual_seed(0);
  const at::Tensor out = u->forward(at::randn({3, 2, 16, 8}), at::tensor({5, 6, 7}, at::kLong), at::Tensor());
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{3, 2, 16, 8}));
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  EXPECT_THROW(u->forward(at::randn({1, 2, 16, 8}), at::tensor({5}, at::kLong), at::zeros({1, 4, 8})), Error);
}
