#pragma once
// MONAI 1.3.0 MLPBlock(act="GEGLU") as used by BasicTransformerBlock
// (generative 0.2.2 diffusion_model_unet.py:211): linear1 C -> 2*4C,
// GEGLU (monai/networks/blocks/activation.py:184: x * gelu(gate), gate = the
// second half), linear2 4C -> C; dropouts are 0.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace ldmg::model {

class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(std::int64_t channels, std::int64_t mlp_dim);
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Linear linear1_{nullptr}, linear2_{nullptr};
};
TORCH_MODULE(FeedForward);

}  // namespace ldmg::model
