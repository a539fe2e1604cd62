#pragma once
// generative 0.2.2 diffusion_model_unet.py:237-342 SpatialTransformer:
// GroupNorm -> 1x1 conv proj_in -> [B, HW, inner] (permute(0,2,3,1), y-major)
// -> transformer blocks -> back to [B, inner, h, w] -> 1x1 conv proj_out -> + x.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "model/conv_layer.h"
#include "model/transformer_block.h"

namespace ldmg::model {

class SpatialTransformerImpl : public torch::nn::Module {
 public:
  SpatialTransformerImpl(std::int64_t in_channels, std::int64_t heads, std::int64_t head_channels,
                         std::int64_t num_layers, std::int64_t norm_num_groups, double norm_eps,
                         std::int64_t context_dim);
  // x [B, C, h, w]; undefined result once state->stopped.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, ForwardState* state);

 private:
  torch::nn::GroupNorm norm_{nullptr};
  ConvLayer proj_in_{nullptr}, proj_out_{nullptr};
  torch::nn::ModuleList transformer_blocks_;
  std::vector<TransformerBlock> blocks_;
};
TORCH_MODULE(SpatialTransformer);

}  // namespace ldmg::model
