#include "model/ae_res_block.h"

#include <torch/torch.h>

namespace ldmg::model {

AeResBlockImpl::AeResBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t norm_num_groups,
                               double norm_eps) {
  auto gn = [&](std::int64_t c) {
    return torch::nn::GroupNorm(torch::nn::GroupNormOptions(norm_num_groups, c).eps(norm_eps));
  };
  norm1_ = register_module("norm1", gn(in_channels));
  conv1_ = register_module("conv1", ConvLayer(in_channels, out_channels, 3, 1, 1));
  norm2_ = register_module("norm2", gn(out_channels));
  conv2_ = register_module("conv2", ConvLayer(out_channels, out_channels, 3, 1, 1));
  if (in_channels != out_channels)
    nin_shortcut_ = register_module("nin_shortcut", ConvLayer(in_channels, out_channels, 1, 1, 0));
}

at::Tensor AeResBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv1_->forward(at::silu(norm1_->forward(x)));
  h = conv2_->forward(at::silu(norm2_->forward(h)));
  return (nin_shortcut_ ? nin_shortcut_->forward(x) : x) + h;
}

}  // namespace ldmg::model
