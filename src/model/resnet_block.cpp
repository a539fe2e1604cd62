#include "model/resnet_block.h"

#include <torch/torch.h>

namespace ldmg::model {

namespace {
at::Tensor upsample_nearest_x2(const at::Tensor& x) {
  return at::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)}, 2.0, 2.0);  // [B, C, 2h, 2w]
}
}  // namespace

ResnetBlockImpl::ResnetBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t temb_channels,
                                 std::int64_t norm_num_groups, double norm_eps, bool up, bool down)
    : up_(up), down_(down && !up) {
  auto gn = [&](std::int64_t c) {
    return torch::nn::GroupNorm(torch::nn::GroupNormOptions(norm_num_groups, c).eps(norm_eps));
  };
  norm1_ = register_module("norm1", gn(in_channels));
  conv1_ = register_module("conv1", ConvLayer(in_channels, out_channels, 3, 1, 1));
  time_emb_proj_ = register_module("time_emb_proj", torch::nn::Linear(temb_channels, out_channels));
  norm2_ = register_module("norm2", gn(out_channels));
  conv2_ = register_module("conv2", ConvLayer(out_channels, out_channels, 3, 1, 1));
  if (in_channels != out_channels)
    skip_connection_ = register_module("skip_connection", ConvLayer(in_channels, out_channels, 1, 1, 0));
}

at::Tensor ResnetBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& emb) {
  at::Tensor x = x_in;
  at::Tensor h = at::silu(norm1_->forward(x));
  if (up_) {
    x = upsample_nearest_x2(x);
    h = upsample_nearest_x2(h);
  } else if (down_) {
    x = at::avg_pool2d(x, {2, 2}, {2, 2});  // [B, C, h/2, w/2]
    h = at::avg_pool2d(h, {2, 2}, {2, 2});
  }
  h = conv1_->forward(h);                                                      // [B, Cout, h, w]
  h = h + time_emb_proj_->forward(at::silu(emb)).unsqueeze(-1).unsqueeze(-1);  // + [B, Cout, 1, 1]
  h = conv2_->forward(at::silu(norm2_->forward(h)));
  return (skip_connection_ ? skip_connection_->forward(x) : x) + h;
}

}  // namespace ldmg::model
