#pragma once
// The DDIM noise schedule, inversion timesteps and the DDIM inverse step
// (SPEC.md §4, QUIRKS.md §0-§1). Upstream: generative/networks/schedulers/
// scheduler.py:72,160 (betas, alphas_cumprod), official/models_local/
// get_models.py:15-45 (set_timesteps_new) and :53-114 (reversed_step_new),
// generative/networks/schedulers/ddim.py:251-255 (the library reversed_step).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ldmg::diffusion {

enum class BetaSchedule { Linear, ScaledLinear, Sigmoid };
enum class PredictionType { Epsilon, VPrediction, Sample };

// The scheduler keys of the authors' ldm config (`ldm.scheduler`), kept
// independent of model/model_config.h; the caller bridges the two.
struct NoiseScheduleParams {
  BetaSchedule schedule = BetaSchedule::ScaledLinear;
  int num_train_timesteps = 1000;
  double beta_start = 0.0015;
  double beta_end = 0.0205;
  PredictionType prediction_type = PredictionType::VPrediction;
};

// "linear_beta" / "scaled_linear_beta" / "sigmoid_beta"; "epsilon" /
// "v_prediction" / "sample". Parsing throws ldmg::Error on unknown names.
std::string to_string(BetaSchedule s);
std::string to_string(PredictionType p);
BetaSchedule parse_beta_schedule(const std::string& name);
PredictionType parse_prediction_type(const std::string& name);

// torch 1.13's CPU float32 linspace, bit for bit (AVX2 build: 8-wide vectors
// built with fused multiply-adds, see the .cpp). at::linspace of LibTorch 2.x
// differs in the last ulp for some entries.
at::Tensor linspace_torch113(double start, double end, std::int64_t steps);

// betas [N] float32, computed with the same float32 tensor ops as upstream:
// linear = linspace(b0, b1, N); scaled_linear = linspace(sqrt b0, sqrt b1, N)^2;
// sigmoid = sigmoid(linspace(-6, 6, N)) * (b1 - b0) + b0.
at::Tensor make_betas(const NoiseScheduleParams& params);
// cumprod(1 - betas) [N] float32, accumulated in double as torch 1.13's CPU
// cumprod does (bit-equal to the goldens given the same betas).
at::Tensor make_alphas_cumprod(const at::Tensor& betas);

enum class Spacing {
  // The authors' set_timesteps_new(T, "trailing"): ratio = N // T,
  // ts = arange(N, 0, -ratio) - 1 (descending), flipped to ascending.
  // Gives ceil(N / ratio) steps: T = 300 -> 334 steps (0, 3, ..., 999).
  TrailingUpstream,
  // Exactly T steps: diffusers' "trailing" formula with a float ratio,
  // t_k = rint(N - k * (N / T)) - 1 for k = 0..T-1 (double, round half to
  // even as np.round), sorted ascending. Equals TrailingUpstream when
  // N % T == 0. Steps are uneven otherwise, so both steppers take the
  // neighbouring noise level from the schedule itself (previous / next
  // entry) instead of t -/+ N // T; with N % T == 0 that is the same.
  TrailingExact,
};

enum class Stepper {
  // reversed_step_new (diffusers' DDIM inverse step): prev = t - ratio;
  // alpha_t = alphas_cumprod[prev] if prev >= 0 else 1.0 (final_alpha_cumprod);
  // alpha_next = alphas_cumprod[t].
  New,
  // MONAI Generative 0.2.2 reversed_step: alpha_t = alphas_cumprod[t],
  // alpha_next = alphas_cumprod[t + ratio]. Upstream raises IndexError when
  // t + ratio >= N (t = 999); here that step gets alpha_next = NaN and
  // inverse_step() throws if it is ever applied, so an inversion that stops
  // after the attention window (as every golden run's output does) is fine.
  Library,
};

// Ascending inversion step i: the U-Net sees `timestep`; the latent moves
// from noise level alpha_t to alpha_next (both float32 values as used).
struct ScheduleStep {
  std::int64_t timestep = 0;
  float alpha_t = 1.f;
  float alpha_next = 1.f;
  bool has_next() const { return alpha_next == alpha_next; }  // false when NaN
};

struct InversionSchedule {
  at::Tensor betas;           // [N] float32
  at::Tensor alphas_cumprod;  // [N] float32
  int num_inference_steps = 0;  // T as requested
  int step_ratio = 0;           // N // T
  std::vector<ScheduleStep> steps;  // ascending
};

// Ascending timesteps for T requested steps (see Spacing).
std::vector<std::int64_t> inversion_timesteps(int num_train_timesteps, int T, Spacing spacing);

// Throws ldmg::Error when T < 1 or T > N (as set_timesteps does).
InversionSchedule make_schedule(const NoiseScheduleParams& params, int T, Spacing spacing = Spacing::TrailingUpstream,
                                Stepper stepper = Stepper::New);

// The paper's attention window as step indices [begin, end) into the
// ascending schedule (official/eval_ldm.py:52): T//2 - (10*T)//100 ..
// T//2 + (10*T)//100, clipped to the number of steps.
struct StepWindow {
  int begin = 0;
  int end = 0;
};
StepWindow paper_step_window(int T, int num_steps);

// One DDIM inverse step (get_models.py:101-113), all scalar math in float32:
// x0, eps from (z, model_out) at alpha_t, then z' = sqrt(alpha_next) x0 +
// sqrt(1 - alpha_next) eps. No clipping. Throws ldmg::Error when alpha_next
// is NaN (the library stepper's last step) or alpha_t is not in (0, 1].
at::Tensor inverse_step(const at::Tensor& z, const at::Tensor& model_out, float alpha_t, float alpha_next,
                        PredictionType prediction);
inline at::Tensor inverse_step(const at::Tensor& z, const at::Tensor& model_out, const ScheduleStep& step,
                               PredictionType prediction) {
  return inverse_step(z, model_out, step.alpha_t, step.alpha_next, prediction);
}

}  // namespace ldmg::diffusion
