#include "model/downsample.h"

#include <torch/torch.h>

namespace ldmg::model {

DownsampleImpl::DownsampleImpl(std::int64_t channels, std::int64_t padding) {
  op_ = register_module("op", ConvLayer(channels, channels, 3, 2, padding));
}

at::Tensor DownsampleImpl::forward(const at::Tensor& x) { return op_->forward(x); }

PaddedDownsampleImpl::PaddedDownsampleImpl(std::int64_t channels) {
  conv_ = register_module("conv", ConvLayer(channels, channels, 3, 2, 0));
}

at::Tensor PaddedDownsampleImpl::forward(const at::Tensor& x) {
  return conv_->forward(at::constant_pad_nd(x, {0, 1, 0, 1}, 0.0));  // pad: [B, C, h+1, w+1]
}

}  // namespace ldmg::model
