#include "diffusion/ddim_scheduler.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace ldmg::diffusion {

std::string to_string(BetaSchedule s) {
  switch (s) {
    case BetaSchedule::Linear: return "linear_beta";
    case BetaSchedule::ScaledLinear: return "scaled_linear_beta";
    case BetaSchedule::Sigmoid: return "sigmoid_beta";
  }
  LDMG_ASSERT(false, "unknown BetaSchedule {}", static_cast<int>(s));
  return {};
}

std::string to_string(PredictionType p) {
  switch (p) {
    case PredictionType::Epsilon: return "epsilon";
    case PredictionType::VPrediction: return "v_prediction";
    case PredictionType::Sample: return "sample";
  }
  LDMG_ASSERT(false, "unknown PredictionType {}", static_cast<int>(p));
  return {};
}

BetaSchedule parse_beta_schedule(const std::string& name) {
  if (name == "linear_beta") return BetaSchedule::Linear;
  if (name == "scaled_linear_beta") return BetaSchedule::ScaledLinear;
  if (name == "sigmoid_beta") return BetaSchedule::Sigmoid;
  LDMG_FAIL("unknown noise schedule '{}' (expected linear_beta, scaled_linear_beta or sigmoid_beta)", name);
}

PredictionType parse_prediction_type(const std::string& name) {
  if (name == "epsilon") return PredictionType::Epsilon;
  if (name == "v_prediction") return PredictionType::VPrediction;
  if (name == "sample") return PredictionType::Sample;
  LDMG_FAIL("unknown prediction type '{}' (expected epsilon, v_prediction or sample)", name);
}

// torch.linspace(start, end, steps, dtype=float32) exactly as torch 1.13's CPU
// kernel computes it on an AVX2 machine (the goldens' reference run):
// aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp (1.13) with
// cpu_serial_kernel_vec. step = (end - start) / (steps - 1) in float32;
// index i < steps/2 counts from start, the rest from end. The output is
// written in pairs of 8-float vectors, each built as base + k * step (k = 0..7)
// from the vector's first value; the tail (< 16 values) goes one by one. The
// AVX2 kernels are compiled with FMA contraction, so every `a + b * c` is one
// fused multiply-add. LibTorch 2.x dropped the vector path (and at::linspace
// differs in the last ulp of ~20% of the scaled-linear betas).
at::Tensor linspace_torch113(double start_d, double end_d, std::int64_t steps) {
  LDMG_CHECK(steps >= 2, "linspace needs at least 2 steps, got {}", steps);
  at::Tensor out = at::empty({steps}, at::kFloat);
  float* o = out.data_ptr<float>();
  const auto start = static_cast<float>(start_d);
  const auto end = static_cast<float>(end_d);
  const float step = (end - start) / static_cast<float>(steps - 1);
  const std::int64_t halfway = steps / 2;
  auto value = [&](std::int64_t i) {
    return i < halfway ? std::fma(step, static_cast<float>(i), start)
                       : std::fma(-step, static_cast<float>(steps - i - 1), end);
  };
  constexpr std::int64_t kVec = 8;  // Vectorized<float>::size() under AVX2
  std::int64_t i = 0;
  for (; i <= steps - 2 * kVec; i += kVec) {
    const float base = value(i);
    o[i] = base;
    for (std::int64_t k = 1; k < kVec; ++k) o[i + k] = std::fma(static_cast<float>(k), step, base);
  }
  for (; i < steps; ++i) o[i] = value(i);
  return out;
}

// generative/networks/schedulers/scheduler.py:_linear_beta, _scaled_linear_beta,
// _sigmoid_beta (0.2.2): the same float32 tensor ops, on torch 1.13's linspace,
// so the values are bit-equal to the goldens.
at::Tensor make_betas(const NoiseScheduleParams& p) {
  LDMG_CHECK(p.num_train_timesteps >= 2, "num_train_timesteps must be >= 2, got {}", p.num_train_timesteps);
  LDMG_CHECK(p.beta_start > 0 && p.beta_end > 0 && p.beta_start <= p.beta_end && p.beta_end < 1,
             "need 0 < beta_start <= beta_end < 1, got {} and {}", p.beta_start, p.beta_end);
  const int n = p.num_train_timesteps;
  switch (p.schedule) {
    case BetaSchedule::Linear: return linspace_torch113(p.beta_start, p.beta_end, n);
    case BetaSchedule::ScaledLinear:
      return linspace_torch113(std::pow(p.beta_start, 0.5), std::pow(p.beta_end, 0.5), n).pow(2);
    case BetaSchedule::Sigmoid:
      return at::sigmoid(linspace_torch113(-6.0, 6.0, n)) * (p.beta_end - p.beta_start) + p.beta_start;
  }
  LDMG_ASSERT(false, "unknown BetaSchedule");
  return {};
}

// scheduler.py:159-160: alphas = 1 - betas (float32); alphas_cumprod =
// torch.cumprod(alphas), which on the CPU in torch 1.13 accumulates in double
// and rounds each prefix to float32 (bit-equal to the goldens; LibTorch 2.x's
// at::cumprod is not, by up to 3e-8).
at::Tensor make_alphas_cumprod(const at::Tensor& betas) {
  LDMG_CHECK(betas.dim() == 1, "betas must be 1-D");
  const at::Tensor alphas = (1 - betas.to(at::kCPU, at::kFloat)).contiguous();
  at::Tensor out = at::empty_like(alphas);
  const float* a = alphas.data_ptr<float>();
  float* o = out.data_ptr<float>();
  double acc = 1.0;
  for (std::int64_t i = 0; i < alphas.numel(); ++i) {
    acc *= static_cast<double>(a[i]);
    o[i] = static_cast<float>(acc);
  }
  return out;
}

std::vector<std::int64_t> inversion_timesteps(int n, int T, Spacing spacing) {
  LDMG_CHECK(T >= 1 && T <= n, "number of inversion steps T = {} must be in 1..{} (num_train_timesteps)", T, n);
  std::vector<std::int64_t> ts;
  if (spacing == Spacing::TrailingUpstream) {
    // get_models.py:44-45: round(arange(N, 0, -ratio)) - 1, descending.
    const int ratio = n / T;
    for (std::int64_t v = n; v > 0; v -= ratio) ts.push_back(v - 1);
  } else {
    // diffusers' trailing spacing with a float ratio, exactly T steps.
    const double ratio = static_cast<double>(n) / T;
    for (int k = 0; k < T; ++k) ts.push_back(static_cast<std::int64_t>(std::nearbyint(n - k * ratio)) - 1);
  }
  std::reverse(ts.begin(), ts.end());  // official/sampler.py:99 flips to ascending
  for (std::size_t i = 1; i < ts.size(); ++i)
    LDMG_ASSERT(ts[i - 1] < ts[i], "timesteps not strictly ascending at {}", i);
  return ts;
}

InversionSchedule make_schedule(const NoiseScheduleParams& params, int T, Spacing spacing, Stepper stepper) {
  InversionSchedule s;
  s.betas = make_betas(params);
  s.alphas_cumprod = make_alphas_cumprod(s.betas);
  const int n = params.num_train_timesteps;
  const std::vector<std::int64_t> ts = inversion_timesteps(n, T, spacing);
  s.num_inference_steps = T;
  s.step_ratio = n / T;
  const float* ac = s.alphas_cumprod.data_ptr<float>();
  const float final_alpha_cumprod = 1.0f;  // ddim.py:97, set_alpha_to_one=True
  const float nan = std::nanf("");
  const auto count = static_cast<std::int64_t>(ts.size());
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t t = ts[i];
    ScheduleStep st;
    st.timestep = t;
    const bool upstream = spacing == Spacing::TrailingUpstream;
    if (stepper == Stepper::New) {
      // get_models.py:81-87: the sample sits at noise level prev, moves to t.
      const std::int64_t prev = upstream ? t - s.step_ratio : (i > 0 ? ts[i - 1] : -1);
      st.alpha_t = prev >= 0 ? ac[prev] : final_alpha_cumprod;
      st.alpha_next = ac[t];
    } else {
      // ddim.py:251-255 (0.2.2): the sample sits at t, moves to t + ratio.
      const std::int64_t next = upstream ? t + s.step_ratio : (i + 1 < count ? ts[i + 1] : n);
      st.alpha_t = ac[t];
      st.alpha_next = next < n ? ac[next] : nan;
    }
    s.steps.push_back(st);
  }
  return s;
}

StepWindow paper_step_window(int T, int num_steps) {
  StepWindow w;
  w.begin = std::clamp(T / 2 - (10 * T) / 100, 0, num_steps);
  w.end = std::clamp(T / 2 + (10 * T) / 100, w.begin, num_steps);
  return w;
}

// get_models.py:53-114 (reversed_step_new) with the alphas chosen by the
// schedule. Upstream's scalars are 0-d float32 tensors; we use the same ops
// on 0-d float32 tensors, so every rounding matches.
at::Tensor inverse_step(const at::Tensor& z, const at::Tensor& model_out, float alpha_t, float alpha_next,
                        PredictionType prediction) {
  LDMG_CHECK(!std::isnan(alpha_next),
             "inverse step past the last noise level: the library stepper has no alphas_cumprod[t + N//T] "
             "for the final timestep (upstream raises IndexError there); stop the inversion before it");
  LDMG_CHECK(alpha_t > 0.f && alpha_t <= 1.f && alpha_next > 0.f && alpha_next <= 1.f,
             "alphas must be in (0, 1], got alpha_t = {}, alpha_next = {}", alpha_t, alpha_next);
  LDMG_CHECK(z.sizes() == model_out.sizes(), "latent [{}] and model output [{}] differ in shape",
             fmt::join(z.sizes(), ","), fmt::join(model_out.sizes(), ","));
  const auto opts = at::TensorOptions().dtype(at::kFloat).device(z.device());
  const at::Tensor a_t = at::scalar_tensor(alpha_t, opts);
  const at::Tensor a_n = at::scalar_tensor(alpha_next, opts);
  const at::Tensor beta_t = 1 - a_t;
  at::Tensor x0, eps;
  switch (prediction) {
    case PredictionType::Epsilon:
      x0 = (z - beta_t.pow(0.5) * model_out) / a_t.pow(0.5);
      eps = model_out;
      break;
    case PredictionType::Sample:
      x0 = model_out;
      eps = (z - a_t.pow(0.5) * x0) / beta_t.pow(0.5);
      break;
    case PredictionType::VPrediction:
      x0 = a_t.pow(0.5) * z - beta_t.pow(0.5) * model_out;
      eps = a_t.pow(0.5) * model_out + beta_t.pow(0.5) * z;
      break;
  }
  const at::Tensor direction = (1 - a_n).pow(0.5) * eps;
  return a_n.pow(0.5) * x0 + direction;
}

}  // namespace ldmg::diffusion
