// Diagnostic: where does the inversion drift from the authors' run? On the
// rich golden pair (golden/T20 pair 0) we run our DDIM inversion from the
// golden z0 and prompt embeddings and print, per step, max |ours - golden|
// of the latent and of the captured attention (layers 3,4,6,7, cond half),
// both free-running (our own chain, as `ground` does) and teacher-forced
// (every step starts from the golden latent, so its error is one U-Net call
// plus one inverse step). Growth of the free-running error well beyond the
// teacher-forced one is amplification of per-call rounding by the chain.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <vector>

#include "diffusion/ddim_scheduler.h"
#include "diffusion/inversion.h"
#include "grounding/golden.h"
#include "model/attention_math.h"
#include "model/diffusion_unet.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::diffusion;

namespace {

const std::vector<int> kLayers = {3, 4, 6, 7};

NoiseScheduleParams fixture_params() {
  NoiseScheduleParams p;  // fixtures/parity/models/configs/ldm/ldm_v0.yaml
  p.schedule = BetaSchedule::ScaledLinear;
  p.num_train_timesteps = 1000;
  p.beta_start = 0.0015;
  p.beta_end = 0.0205;
  p.prediction_type = PredictionType::VPrediction;
  return p;
}

model::DiffusionUNet& fixture_unet() {
  static model::DiffusionUNet unet = model::load_diffusion_unet(
      test::parity_dir() + "/models/configs/ldm/ldm_v0.yaml", test::parity_dir() + "/models/diffusion_model.safetensors");
  return unet;
}

// Keeps the cond-half probabilities [HW, S] of every (step, layer).
struct KeepSink final : AttentionSink {
  std::map<std::pair<int, int>, at::Tensor> maps;
  void on_maps(int step, int layer, int prompt, const at::Tensor& probs, std::int64_t, std::int64_t) override {
    if (prompt == 0) maps[{step, layer}] = probs.clone();
  }
};

struct Rich {
  std::map<std::string, at::Tensor> g;
  int t_min = 0, t_max = 0;
  std::int64_t n_tokens = 0;
  int tok_begin = 0, tok_end = 0;
};

const Rich& rich() {
  static Rich r = [] {
    Rich x;
    x.g = test::load_golden(test::golden_dir("T20") + "/samples/pair00.safetensors");
    const auto meta = test::load_json(test::golden_dir("T20") + "/metrics.json");
    x.t_min = meta.at("t_min").get<int>();
    x.t_max = meta.at("t_max").get<int>();
    const auto& p0 = meta.at("per_sample").at(0);
    x.tok_begin = p0.at("token_slice")[0].get<int>();
    x.tok_end = p0.at("token_slice")[1].get<int>();
    x.n_tokens = x.g.at("input_ids").size(0);
    return x;
  }();
  return r;
}

struct StepErrors {
  double latent = 0, attn = 0, layer_mean = 0;
};

// Attention errors of step i (in the window) against attn_sel_cond and
// layer_token_mean.
void attention_errors(const Rich& r, const KeepSink& sink, int i, StepErrors& e) {
  if (i < r.t_min || i >= r.t_max) return;
  const at::Tensor sel = r.g.at("attn_sel_cond");     // [4, W, 256, n]
  const at::Tensor ltm = r.g.at("layer_token_mean");  // [4, W, 16, 16]
  for (std::size_t k = 0; k < kLayers.size(); ++k) {
    const at::Tensor p = sink.maps.at({i, kLayers[k]});  // [256, 77]
    e.attn = std::max(e.attn, test::max_abs_diff(p.slice(1, 0, r.n_tokens), sel[k][i - r.t_min]));
    const at::Tensor mean = p.slice(1, r.tok_begin, r.tok_end).mean(1).view({16, 16});
    e.layer_mean = std::max(e.layer_mean, test::max_abs_diff(mean, ltm[k][i - r.t_min]));
  }
}

InversionRequest request(const Rich& r, const InversionSchedule& s) {
  InversionRequest req;
  req.z0 = r.g.at("z0");
  const at::Tensor emb = r.g.at("prompt_embeds");  // [2, 77, 32]
  req.uncond = emb.slice(0, 0, 1);
  req.conds = emb.slice(0, 1, 2);
  req.steps = s.steps;
  req.layers = kLayers;
  req.capture_begin = r.t_min;
  req.capture_end = r.t_max;
  req.mode = InversionMode::faithful;
  req.full_schedule = true;
  return req;
}

UNetCall unet_call() {
  return [](const at::Tensor& x, const at::Tensor& t, const at::Tensor& ctx, model::AttentionObserver* obs, int stop) {
    return fixture_unet()->forward(x, t, ctx, obs, stop);
  };
}

InverseStepFn step_fn() {
  return [](const at::Tensor& z, const at::Tensor& v, const ScheduleStep& st) {
    return inverse_step(z, v, st, PredictionType::VPrediction);
  };
}

// Free-running chain: errors per step.
std::vector<StepErrors> free_running(const Rich& r, const InversionSchedule& s) {
  const at::Tensor latents = r.g.at("latents");  // [S, 3, 64, 64]
  KeepSink sink;
  std::vector<StepErrors> errs(s.steps.size());
  run_inversion(unet_call(), step_fn(), request(r, s), sink, [&](int i, const at::Tensor& z) {
    errs[i].latent = test::max_abs_diff(z[0], latents[i]);
  });
  for (int i = 0; i < static_cast<int>(errs.size()); ++i) attention_errors(r, sink, i, errs[i]);
  return errs;
}

// Teacher-forced: step i starts from the golden latent after step i-1.
std::vector<StepErrors> teacher_forced(const Rich& r, const InversionSchedule& s) {
  const at::Tensor latents = r.g.at("latents");
  std::vector<StepErrors> errs(s.steps.size());
  for (int i = 0; i + 1 < static_cast<int>(s.steps.size()); ++i) {
    InversionRequest req = request(r, s);
    req.z0 = i == 0 ? r.g.at("z0") : latents[i - 1].unsqueeze(0);
    req.steps = {s.steps[i], s.steps[i]};  // one step, and a second so that it is applied
    const bool in_window = i >= r.t_min && i < r.t_max;
    if (!in_window) req.layers.clear();
    req.capture_begin = 0;
    req.capture_end = 1;
    req.full_schedule = false;  // stop after step 0
    KeepSink sink;
    at::Tensor z1;
    run_inversion(unet_call(), step_fn(), req, sink, [&](int k, const at::Tensor& z) {
      if (k == 0) z1 = z;
    });
    errs[i].latent = test::max_abs_diff(z1[0], latents[i]);
    if (in_window) {
      KeepSink shifted;
      for (int l : kLayers) shifted.maps[{i, l}] = sink.maps.at({0, l});
      attention_errors(r, shifted, i, errs[i]);
    }
  }
  return errs;
}

void print(const char* title, const std::vector<StepErrors>& e, const at::Tensor& latents) {
  std::printf("%s\n  step  max|latent|   latent err   attn err   layer-mean err\n", title);
  for (std::size_t i = 0; i + 1 < e.size(); ++i)
    std::printf("  %4zu  %10.3f  %11.3g  %9.3g  %9.3g\n", i, latents[i].abs().max().item<double>(), e[i].latent,
                e[i].attn, e[i].layer_mean);
}

}  // namespace

TEST(InversionDrift, SchedulerBetasAreBitEqualToTorch113) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto run = test::load_golden(test::golden_dir("T20") + "/run.safetensors");
  const InversionSchedule s = make_schedule(fixture_params(), 20);
  EXPECT_TRUE(at::equal(s.betas, run.at("betas")));
  EXPECT_TRUE(at::equal(s.alphas_cumprod, run.at("alphas_cumprod")));
}

TEST(InversionDrift, PerStepErrorsOnRichPair) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  c10::InferenceMode guard;
  const Rich& r = rich();
  const InversionSchedule s = make_schedule(fixture_params(), 20);
  const at::Tensor latents = r.g.at("latents");
  const model::AttentionKernel saved = model::attention_kernel();
  double worst_free = 0, worst_forced = 0;
  for (auto kernel : {model::AttentionKernel::fused, model::AttentionKernel::explicit_math}) {
    model::set_attention_kernel(kernel);
    const char* name = kernel == model::AttentionKernel::fused ? "fused" : "explicit";
    const auto forced = teacher_forced(r, s);
    const auto free = free_running(r, s);
    print(fmt::format("[drift] teacher-forced, attention {}", name).c_str(), forced, latents);
    print(fmt::format("[drift] free-running, attention {}", name).c_str(), free, latents);
    for (std::size_t i = 0; i + 1 < free.size(); ++i) {
      worst_free = std::max(worst_free, free[i].latent);
      worst_forced = std::max(worst_forced, forced[i].latent);
    }
  }
  model::set_attention_kernel(saved);
  // The fixture README's tolerance for latents.
  EXPECT_LE(worst_free, 1e-4);
  EXPECT_LE(worst_forced, 1e-4);
}

// One U-Net call at step t_min from the golden latent, under different CPU
// backends: what part of the per-call error is convolution / GEMM rounding.
TEST(InversionDrift, UNetCallErrorByBackend) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  c10::InferenceMode guard;
  const Rich& r = rich();
  const at::Tensor z = r.g.at("latent_before_window").unsqueeze(0);
  const at::Tensor x = at::cat({z, z}, 0);
  const at::Tensor t = at::tensor({std::int64_t{449}}, at::kLong);
  const at::Tensor gold = r.g.at("v_pred_uncond_step_tmin");
  const bool mkldnn = at::globalContext().userEnabledMkldnn();
  const int threads = at::get_num_threads();
  for (bool use_mkldnn : {true, false})
    for (int nt : {threads, 1}) {
      at::globalContext().setUserEnabledMkldnn(use_mkldnn);
      at::set_num_threads(nt);
      const at::Tensor out = fixture_unet()->forward(x, t, r.g.at("prompt_embeds"), nullptr, -1);
      std::printf("[drift] U-Net call t_min: mkldnn %d, threads %d: v err %.3g (max|v| %.3g)\n", use_mkldnn, nt,
                  test::max_abs_diff(out[0], gold), gold.abs().max().item<double>());
    }
  at::globalContext().setUserEnabledMkldnn(mkldnn);
  at::set_num_threads(threads);
}
