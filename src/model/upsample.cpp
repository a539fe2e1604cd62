#include "model/upsample.h"

#include <torch/torch.h>

namespace ldmg::model {

UpsampleImpl::UpsampleImpl(std::int64_t channels) {
  conv_ = register_module("conv", ConvLayer(channels, channels, 3, 1, 1));
}

at::Tensor UpsampleImpl::forward(const at::Tensor& x) {
  // F.interpolate(scale_factor=2.0, mode="nearest"): src = floor(dst / 2).
  at::Tensor up = at::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)}, 2.0, 2.0);  // [B, C, 2h, 2w]
  return conv_->forward(up);
}

}  // namespace ldmg::model
