#include "model/conv_layer.h"

#include <torch/torch.h>

namespace ldmg::model {

ConvLayerImpl::ConvLayerImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                             std::int64_t stride, std::int64_t padding) {
  conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size)
                                                        .stride(stride)
                                                        .padding(padding)
                                                        .bias(true)));
}

at::Tensor ConvLayerImpl::forward(const at::Tensor& x) { return conv_->forward(x); }

}  // namespace ldmg::model
