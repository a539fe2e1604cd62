#pragma once
// MONAI `Convolution(conv_only=True)`: a Sequential whose only child is
// `conv`, hence the checkpoint keys `<name>.conv.weight` / `<name>.conv.bias`.
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace ldmg::model {

class ConvLayerImpl : public torch::nn::Module {
 public:
  ConvLayerImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride,
                std::int64_t padding);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d& conv() { return conv_; }

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(ConvLayer);

}  // namespace ldmg::model
