#pragma once
// The two stride-2 downsamplers of generative 0.2.2.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/conv_layer.h"

namespace ldmg::model {

// U-Net (diffusion_model_unet.py:488-531 Downsample, use_conv): `op` = 3x3
// conv, stride 2, padding 1.
class DownsampleImpl : public torch::nn::Module {
 public:
  DownsampleImpl(std::int64_t channels, std::int64_t padding = 1);
  at::Tensor forward(const at::Tensor& x);  // [B, C, h, w] -> [B, C, ceil(h/2), ceil(w/2)]

 private:
  ConvLayer op_{nullptr};
};
TORCH_MODULE(Downsample);

// Autoencoder (autoencoderkl.py:73-105 Downsample): zero pad (0,1,0,1)
// (right and bottom), then `conv` = 3x3 conv, stride 2, padding 0.
class PaddedDownsampleImpl : public torch::nn::Module {
 public:
  explicit PaddedDownsampleImpl(std::int64_t channels);
  at::Tensor forward(const at::Tensor& x);  // [B, C, h, w] -> [B, C, floor(h/2), floor(w/2)]

 private:
  ConvLayer conv_{nullptr};
};
TORCH_MODULE(PaddedDownsample);

}  // namespace ldmg::model
