#pragma once
// Nearest x2 upsampling then a 3x3 conv named `conv` (generative 0.2.2
// diffusion_model_unet.py:534-586 Upsample with use_conv; autoencoderkl.py:
// 39-70 Upsample is the same).
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/conv_layer.h"

namespace ldmg::model {

class UpsampleImpl : public torch::nn::Module {
 public:
  explicit UpsampleImpl(std::int64_t channels);
  at::Tensor forward(const at::Tensor& x);  // [B, C, h, w] -> [B, C, 2h, 2w]

 private:
  ConvLayer conv_{nullptr};
};
TORCH_MODULE(Upsample);

}  // namespace ldmg::model
