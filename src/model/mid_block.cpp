#include "model/mid_block.h"

#include <torch/torch.h>

namespace ldmg::model {

MidBlockImpl::MidBlockImpl(std::int64_t channels, const UNetBlockOptions& o) {
  resnet_1_ = register_module("resnet_1",
                              ResnetBlock(channels, channels, o.temb_channels, o.norm_num_groups, o.norm_eps));
  attention_ = BlockAttentionLayer::make(channels, o);
  register_module("attention", attention_.module());
  resnet_2_ = register_module("resnet_2",
                              ResnetBlock(channels, channels, o.temb_channels, o.norm_num_groups, o.norm_eps));
}

at::Tensor MidBlockImpl::forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                                 ForwardState* state) {
  at::Tensor h = resnet_1_->forward(x, temb);
  h = attention_.forward(h, context, state);
  if (state && state->stopped) return {};
  return resnet_2_->forward(h, temb);
}

}  // namespace ldmg::model
