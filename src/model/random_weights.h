#pragma once
// Deterministic random weights for a U-Net / autoencoder built from a config,
// for demos, benchmarks and tests when the published weights are absent.
// Like the parity fixtures (fixtures/parity/README.md "Models"): PyTorch's
// default Linear/Conv init (uniform +-1/sqrt(fan_in), weights and biases),
// the convs upstream zero-initialises are random too (otherwise the U-Net
// output is 0), norm weights 1 + N(0, jitter) and biases N(0, jitter), and
// optionally attn2 to_q/to_k scaled for peaky cross-attention.
#include <cstdint>

#include "model/autoencoder_kl.h"
#include "model/diffusion_unet.h"

namespace ldmg::model {

struct RandomWeightOptions {
  std::uint64_t seed = 1;
  double norm_jitter = 0.1;  // 0: norms start as identity (weight 1, bias 0)
  double attn2_qk_scale = 1.0;  // fixtures: 3.0
};

// Same seed and config -> bit-identical weights. Eval mode, float32, CPU, no grad.
DiffusionUNet random_diffusion_unet(const UNetConfig& config, const RandomWeightOptions& options = {});
AutoencoderKL random_autoencoder(const AutoencoderConfig& config, const RandomWeightOptions& options = {});

// The initialisation itself, for any module (parameters in named order).
void randomize_parameters(torch::nn::Module& module, const RandomWeightOptions& options);

}  // namespace ldmg::model
