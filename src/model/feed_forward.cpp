#include "model/feed_forward.h"

#include <torch/torch.h>

namespace ldmg::model {

FeedForwardImpl::FeedForwardImpl(std::int64_t channels, std::int64_t mlp_dim) {
  linear1_ = register_module("linear1", torch::nn::Linear(channels, 2 * mlp_dim));
  linear2_ = register_module("linear2", torch::nn::Linear(mlp_dim, channels));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  auto parts = linear1_->forward(x).chunk(2, -1);  // 2 x [B, L, mlp_dim]
  return linear2_->forward(parts[0] * at::gelu(parts[1]));  // [B, L, C]
}

}  // namespace ldmg::model
