#include "model/down_block.h"

#include <torch/torch.h>

namespace ldmg::model {

DownBlockImpl::DownBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t num_res_blocks,
                             bool add_downsample, const UNetBlockOptions& o) {
  auto resnets = register_module("resnets", torch::nn::ModuleList());
  torch::nn::ModuleList attentions{nullptr};
  if (o.attention != BlockAttention::None) attentions = register_module("attentions", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < num_res_blocks; ++i) {
    resnets_.emplace_back(i == 0 ? in_channels : out_channels, out_channels, o.temb_channels, o.norm_num_groups,
                          o.norm_eps);
    resnets->push_back(resnets_.back());
    if (attentions) {
      attentions_.push_back(BlockAttentionLayer::make(out_channels, o));
      attentions->push_back(attentions_.back().module());
    }
  }
  if (add_downsample) {
    if (o.resblock_updown)
      res_downsampler_ = register_module(
          "downsampler",
          ResnetBlock(out_channels, out_channels, o.temb_channels, o.norm_num_groups, o.norm_eps, false, true));
    else
      downsampler_ = register_module("downsampler", Downsample(out_channels));
  }
}

at::Tensor DownBlockImpl::forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                                  ForwardState* state, std::vector<at::Tensor>& skips) {
  at::Tensor h = x;
  for (std::size_t i = 0; i < resnets_.size(); ++i) {
    h = resnets_[i]->forward(h, temb);
    if (!attentions_.empty()) {
      h = attentions_[i].forward(h, context, state);
      if (state && state->stopped) return {};
    }
    skips.push_back(h);
  }
  if (downsampler_) h = downsampler_->forward(h);                          // [B, C, h/2, w/2]
  else if (res_downsampler_) h = res_downsampler_->forward(h, temb);
  if (downsampler_ || res_downsampler_) skips.push_back(h);
  return h;
}

}  // namespace ldmg::model
