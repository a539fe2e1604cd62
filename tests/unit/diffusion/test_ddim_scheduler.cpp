// The DDIM schedule and inverse step against the goldens of the authors' code.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/check.h"
#include "diffusion/ddim_scheduler.h"
#include "grounding/golden.h"

using namespace ldmg;
using namespace ldmg::diffusion;

namespace {

NoiseScheduleParams fixture_params() {
  // fixtures/parity/models/configs/ldm/ldm_v0.yaml (= the real config's scheduler).
  NoiseScheduleParams p;
  p.schedule = BetaSchedule::ScaledLinear;
  p.num_train_timesteps = 1000;
  p.beta_start = 0.0015;
  p.beta_end = 0.0205;
  p.prediction_type = PredictionType::VPrediction;
  return p;
}

std::vector<std::int64_t> as_int(const at::Tensor& t) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<std::int64_t>(t[i].item<float>()));
  return v;
}

}  // namespace

TEST(DdimSchedule, BetasAndAlphasCumprodMatchGolden) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  auto run = test::load_golden(test::golden_dir("T20") + "/run.safetensors");
  const at::Tensor betas = make_betas(fixture_params());
  const at::Tensor ac = make_alphas_cumprod(betas);
  const double db = test::max_abs_diff(betas, run.at("betas"));
  const double da = test::max_abs_diff(ac, run.at("alphas_cumprod"));
  // The cumprod itself is bit-exact given the golden betas ...
  EXPECT_TRUE(at::equal(make_alphas_cumprod(run.at("betas")), run.at("alphas_cumprod")));
  // ... and so are the betas (torch 1.13's AVX2 linspace, emulated).
  const std::int64_t nb = betas.ne(run.at("betas")).sum().item<std::int64_t>();
  const std::int64_t na = ac.ne(run.at("alphas_cumprod")).sum().item<std::int64_t>();
  std::printf("betas max err %.3g (%lld of 1000 differ), alphas_cumprod max err %.3g (%lld differ)\n", db,
              static_cast<long long>(nb), da, static_cast<long long>(na));
  EXPECT_EQ(nb, 0);
  EXPECT_EQ(na, 0);
  EXPECT_EQ(db, 0.0);
  EXPECT_EQ(da, 0.0);
}

TEST(DdimSchedule, LinearBetasAreALinspace) {
  NoiseScheduleParams p = fixture_params();
  p.schedule = BetaSchedule::Linear;
  p.beta_start = 1e-4;
  p.beta_end = 2e-2;
  const at::Tensor b = make_betas(p);
  EXPECT_FLOAT_EQ(b[0].item<float>(), 1e-4f);
  EXPECT_FLOAT_EQ(b[999].item<float>(), 2e-2f);
  EXPECT_NEAR(b[500].item<float>(), 1e-4 + 500 * (2e-2 - 1e-4) / 999, 1e-8);
}

TEST(DdimSchedule, TimestepsMatchGolden) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  for (const char* run_name : {"T20", "T50", "T20_libstep"}) {
    auto run = test::load_golden(test::golden_dir(run_name) + "/run.safetensors");
    const auto meta = test::load_json(test::golden_dir(run_name) + "/metrics.json");
    const int T = meta.at("T").get<int>();
    EXPECT_EQ(inversion_timesteps(1000, T, Spacing::TrailingUpstream), as_int(run.at("timesteps_inversion"))) << run_name;
    EXPECT_EQ(inversion_timesteps(1000, 300, Spacing::TrailingUpstream), as_int(run.at("timesteps_T300_inversion")));
    const StepWindow w = paper_step_window(T, T);
    EXPECT_EQ(w.begin, meta.at("t_min").get<int>());
    EXPECT_EQ(w.end, meta.at("t_max").get<int>());
  }
  EXPECT_EQ(inversion_timesteps(1000, 300, Spacing::TrailingUpstream).size(), 334u);
  const StepWindow w300 = paper_step_window(300, 334);
  EXPECT_EQ(w300.begin, 120);
  EXPECT_EQ(w300.end, 180);
}

TEST(DdimSchedule, ExactSpacingGivesTStepsEndingAtLastTimestep) {
  const auto ts = inversion_timesteps(1000, 300, Spacing::TrailingExact);
  ASSERT_EQ(ts.size(), 300u);
  EXPECT_EQ(ts.back(), 999);
  EXPECT_EQ(ts.front(), 2);  // rint(1000 - 299 * 10/3) - 1 = rint(3.33) - 1
  // Equal to the upstream spacing whenever T divides N.
  EXPECT_EQ(inversion_timesteps(1000, 20, Spacing::TrailingExact), inversion_timesteps(1000, 20, Spacing::TrailingUpstream));
  // Steppers chain the schedule's own levels: alpha_next of step i = alpha_t of step i+1.
  const auto s = make_schedule(fixture_params(), 300, Spacing::TrailingExact);
  for (std::size_t i = 1; i < s.steps.size(); ++i) EXPECT_EQ(s.steps[i].alpha_t, s.steps[i - 1].alpha_next);
  EXPECT_THROW(inversion_timesteps(1000, 0, Spacing::TrailingUpstream), Error);
  EXPECT_THROW(inversion_timesteps(1000, 1001, Spacing::TrailingUpstream), Error);
}

TEST(DdimSchedule, StepAlphasMatchEveryGoldenPair) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  for (const char* run_name : {"T20", "T50", "T20_libstep"}) {
    const auto meta = test::load_json(test::golden_dir(run_name) + "/metrics.json");
    const int T = meta.at("T").get<int>();
    const Stepper stepper = meta.at("stepper").get<std::string>() == "lib" ? Stepper::Library : Stepper::New;
    const InversionSchedule s = make_schedule(fixture_params(), T, Spacing::TrailingUpstream, stepper);
    EXPECT_EQ(s.step_ratio, meta.at("step_ratio").get<int>());
    int checked = 0;
    for (const auto& e : meta.at("per_sample")) {
      if (!e.contains("alpha_t")) continue;
      const auto& at_ = e.at("alpha_t");
      const auto& an = e.at("alpha_next");
      ASSERT_EQ(at_.size(), s.steps.size()) << run_name << " " << e.at("key");
      for (std::size_t i = 0; i < s.steps.size(); ++i) {
        EXPECT_EQ(s.steps[i].timestep, e.at("timesteps_run")[i].get<std::int64_t>());
        EXPECT_NEAR(s.steps[i].alpha_t, at_[i].get<double>(), 1e-7) << run_name << " step " << i;
        if (an[i].is_null()) {
          EXPECT_FALSE(s.steps[i].has_next()) << run_name << " step " << i;
        } else {
          EXPECT_NEAR(s.steps[i].alpha_next, an[i].get<double>(), 1e-7) << run_name << " step " << i;
        }
      }
      ++checked;
    }
    EXPECT_GE(checked, 8) << run_name;
  }
}

TEST(DdimSchedule, LibraryStepperRefusesTheLastStep) {
  const InversionSchedule s = make_schedule(fixture_params(), 20, Spacing::TrailingUpstream, Stepper::Library);
  ASSERT_FALSE(s.steps.back().has_next());
  const at::Tensor z = at::ones({1, 3, 4, 4});
  EXPECT_THROW(inverse_step(z, z, s.steps.back(), PredictionType::VPrediction), Error);
  EXPECT_NO_THROW(inverse_step(z, z, s.steps[18], PredictionType::VPrediction));
}

TEST(DdimSchedule, InverseStepReproducesGoldenLatent) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  auto g = test::load_golden(test::golden_dir("T20") + "/samples/pair00.safetensors");
  const auto meta = test::load_json(test::golden_dir("T20") + "/metrics.json");
  const int t_min = meta.at("t_min").get<int>();
  const at::Tensor latents = g.at("latents");  // [S,3,64,64], latent after step i
  ASSERT_EQ(g.at("latent_steps")[t_min].item<float>(), static_cast<float>(t_min));
  // latent_before_window is the latent after step t_min - 1.
  EXPECT_LE(test::max_abs_diff(g.at("latent_before_window"), latents[t_min - 1]), 0.0);
  const InversionSchedule s = make_schedule(fixture_params(), 20);
  const at::Tensor z = g.at("latent_before_window").unsqueeze(0);
  const at::Tensor v = g.at("v_pred_uncond_step_tmin").unsqueeze(0);
  const at::Tensor out = inverse_step(z, v, s.steps[t_min], PredictionType::VPrediction);
  const double err = test::max_abs_diff(out[0], latents[t_min]);
  RecordProperty("max_err_inverse_step", std::to_string(err));
  std::printf("inverse step max err %.3g\n", err);
  // Same alphas, same float32 tensor ops in the same order: bit-equal on the
  // Intel CPUs of earlier sessions; on AMD EPYC (LibTorch 2.15) 2.4e-7, one
  // float32 ulp of the latents (|z| in [2, 4)), from the CPU's elementwise
  // kernels. Two ulps allowed.
  EXPECT_LE(err, 4.8e-7);
}

TEST(DdimSchedule, PredictionTypesAgreeOnAConsistentSample) {
  // A sample at level alpha_t built from known x0 and eps: every prediction
  // type, fed its own ideal model output, must land on the same z'.
  const float a_t = 0.7f, a_n = 0.4f;
  const at::Tensor x0 = at::linspace(-1, 1, 48).view({1, 3, 4, 4});
  const at::Tensor eps = at::cos(at::arange(48, at::kFloat)).view({1, 3, 4, 4});
  const at::Tensor z = std::sqrt(a_t) * x0 + std::sqrt(1 - a_t) * eps;
  const at::Tensor v = std::sqrt(a_t) * eps - std::sqrt(1 - a_t) * x0;
  const at::Tensor expect = std::sqrt(a_n) * x0 + std::sqrt(1 - a_n) * eps;
  EXPECT_LE(test::max_abs_diff(inverse_step(z, eps, a_t, a_n, PredictionType::Epsilon), expect), 1e-5);
  EXPECT_LE(test::max_abs_diff(inverse_step(z, v, a_t, a_n, PredictionType::VPrediction), expect), 1e-5);
  EXPECT_LE(test::max_abs_diff(inverse_step(z, x0, a_t, a_n, PredictionType::Sample), expect), 1e-5);
  EXPECT_EQ(parse_prediction_type(to_string(PredictionType::VPrediction)), PredictionType::VPrediction);
  EXPECT_EQ(parse_beta_schedule("scaled_linear_beta"), BetaSchedule::ScaledLinear);
  EXPECT_THROW(parse_beta_schedule("cosine"), Error);
}
