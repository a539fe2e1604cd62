#include "model/spatial_transformer.h"

#include <torch/torch.h>

namespace ldmg::model {

SpatialTransformerImpl::SpatialTransformerImpl(std::int64_t in_channels, std::int64_t heads,
                                               std::int64_t head_channels, std::int64_t num_layers,
                                               std::int64_t norm_num_groups, double norm_eps,
                                               std::int64_t context_dim) {
  const std::int64_t inner = heads * head_channels;
  norm_ = register_module(
      "norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(norm_num_groups, in_channels).eps(norm_eps)));
  proj_in_ = register_module("proj_in", ConvLayer(in_channels, inner, 1, 1, 0));
  transformer_blocks_ = register_module("transformer_blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    blocks_.emplace_back(inner, heads, head_channels, context_dim);
    transformer_blocks_->push_back(blocks_.back());
  }
  proj_out_ = register_module("proj_out", ConvLayer(inner, in_channels, 1, 1, 0));
}

at::Tensor SpatialTransformerImpl::forward(const at::Tensor& x, const at::Tensor& context, ForwardState* state) {
  const auto B = x.size(0), h = x.size(2), w = x.size(3);
  at::Tensor t = proj_in_->forward(norm_->forward(x));  // [B, inner, h, w]
  const auto inner = t.size(1);
  t = t.permute({0, 2, 3, 1}).reshape({B, h * w, inner});  // [B, HW, inner]
  for (auto& block : blocks_) {
    t = block->forward(t, context, state, h, w);
    if (state && state->stopped) return {};
  }
  t = t.reshape({B, h, w, inner}).permute({0, 3, 1, 2}).contiguous();  // [B, inner, h, w]
  return proj_out_->forward(t) + x;
}

}  // namespace ldmg::model
