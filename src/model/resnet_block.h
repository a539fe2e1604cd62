#pragma once
// U-Net residual block with timestep conditioning, generative 0.2.2
// diffusion_model_unet.py:589-696 ResnetBlock:
// h = conv1(silu(norm1 x)) + time_emb_proj(silu(emb)); h = conv2(silu(norm2 h));
// out = skip_connection(x) + h. With up/down (resblock_updown) x and h are
// resampled (nearest x2 / 2x2 average pool) after the first activation.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "model/conv_layer.h"

namespace ldmg::model {

class ResnetBlockImpl : public torch::nn::Module {
 public:
  ResnetBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t temb_channels,
                  std::int64_t norm_num_groups, double norm_eps, bool up = false, bool down = false);
  // x [B, Cin, h, w], emb [B or 1, temb] -> [B, Cout, h', w'].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& emb);

 private:
  bool up_, down_;
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  ConvLayer conv1_{nullptr}, conv2_{nullptr}, skip_connection_{nullptr};  // skip: null = identity
  torch::nn::Linear time_emb_proj_{nullptr};
};
TORCH_MODULE(ResnetBlock);

}  // namespace ldmg::model
