#include "model/up_block.h"

#include <torch/torch.h>

#include "core/check.h"

namespace ldmg::model {

UpBlockImpl::UpBlockImpl(std::int64_t in_channels, std::int64_t prev_output_channel, std::int64_t out_channels,
                         std::int64_t num_res_blocks, bool add_upsample, const UNetBlockOptions& o) {
  auto resnets = register_module("resnets", torch::nn::ModuleList());
  torch::nn::ModuleList attentions{nullptr};
  if (o.attention != BlockAttention::None) attentions = register_module("attentions", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < num_res_blocks; ++i) {
    const std::int64_t res_skip = (i == num_res_blocks - 1) ? in_channels : out_channels;
    const std::int64_t res_in = (i == 0) ? prev_output_channel : out_channels;
    resnets_.emplace_back(res_in + res_skip, out_channels, o.temb_channels, o.norm_num_groups, o.norm_eps);
    resnets->push_back(resnets_.back());
    if (attentions) {
      attentions_.push_back(BlockAttentionLayer::make(out_channels, o));
      attentions->push_back(attentions_.back().module());
    }
  }
  if (add_upsample) {
    if (o.resblock_updown)
      res_upsampler_ = register_module(
          "upsampler",
          ResnetBlock(out_channels, out_channels, o.temb_channels, o.norm_num_groups, o.norm_eps, true, false));
    else
      upsampler_ = register_module("upsampler", Upsample(out_channels));
  }
}

at::Tensor UpBlockImpl::forward(const at::Tensor& x, std::vector<at::Tensor>& skips, const at::Tensor& temb,
                                const at::Tensor& context, ForwardState* state) {
  at::Tensor h = x;
  for (std::size_t i = 0; i < resnets_.size(); ++i) {
    LDMG_ASSERT(!skips.empty(), "U-Net skip stack exhausted");
    const at::Tensor skip = std::move(skips.back());
    skips.pop_back();
    h = at::cat({h, skip}, 1);  // [B, C + Cskip, h, w]
    h = resnets_[i]->forward(h, temb);
    if (!attentions_.empty()) {
      h = attentions_[i].forward(h, context, state);
      if (state && state->stopped) return {};
    }
  }
  if (upsampler_) h = upsampler_->forward(h);  // [B, C, 2h, 2w]
  else if (res_upsampler_) h = res_upsampler_->forward(h, temb);
  return h;
}

}  // namespace ldmg::model
