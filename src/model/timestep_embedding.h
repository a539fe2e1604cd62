#pragma once
// Sinusoidal timestep embedding, generative 0.2.2 diffusion_model_unet.py:461-485:
// half = dim/2, freqs = exp(-ln(max_period) * i / half) in float32,
// emb = [cos(t*freqs), sin(t*freqs)] (cos first), zero-padded if dim is odd.
#include <ATen/core/Tensor.h>

namespace ldmg::model {

// timesteps [N] (any integer or float dtype) -> [N, dim] float32.
at::Tensor timestep_embedding(const at::Tensor& timesteps, std::int64_t dim, double max_period = 10000.0);

}  // namespace ldmg::model
