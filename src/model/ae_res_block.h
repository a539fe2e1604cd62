#pragma once
// Autoencoder residual block, generative 0.2.2 autoencoderkl.py:108-189 ResBlock:
// h = conv2(silu(norm2(conv1(silu(norm1 x))))); out = nin_shortcut(x) + h
// (nin_shortcut only when the channel count changes).
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "model/conv_layer.h"

namespace ldmg::model {

class AeResBlockImpl : public torch::nn::Module {
 public:
  AeResBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t norm_num_groups, double norm_eps);
  at::Tensor forward(const at::Tensor& x);  // [B, Cin, h, w] -> [B, Cout, h, w]

 private:
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  ConvLayer conv1_{nullptr}, conv2_{nullptr}, nin_shortcut_{nullptr};
};
TORCH_MODULE(AeResBlock);

}  // namespace ldmg::model
