#include "model/timestep_embedding.h"

#include <torch/torch.h>

#include <cmath>

#include "core/check.h"

namespace ldmg::model {

at::Tensor timestep_embedding(const at::Tensor& timesteps, std::int64_t dim, double max_period) {
  LDMG_CHECK(timesteps.dim() == 1, "timesteps must be a 1-d tensor, got shape {}", c10::str(timesteps.sizes()));
  const std::int64_t half = dim / 2;
  // Same op order as upstream: float32 arange * scalar, then / half.
  at::Tensor exponent =
      at::arange(0, half, at::TensorOptions().dtype(at::kFloat).device(timesteps.device())) * (-std::log(max_period));
  at::Tensor freqs = at::exp(exponent / half);                              // [half]
  at::Tensor args = timesteps.unsqueeze(1).to(at::kFloat) * freqs.unsqueeze(0);  // [N, half]
  at::Tensor emb = at::cat({at::cos(args), at::sin(args)}, -1);               // [N, 2*half]
  if (dim % 2 == 1) emb = at::constant_pad_nd(emb, {0, 1, 0, 0});             // [N, dim]
  return emb;
}

}  // namespace ldmg::model
