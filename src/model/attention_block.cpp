#include "model/attention_block.h"

#include <torch/torch.h>

#include <cmath>

#include "model/attention_math.h"

namespace ldmg::model {

AttentionBlockImpl::AttentionBlockImpl(std::int64_t channels, std::int64_t head_channels,
                                       std::int64_t norm_num_groups, double norm_eps)
    : heads_(head_channels > 0 ? channels / head_channels : 1),
      scale_(1.0 / std::sqrt(static_cast<double>(channels) / static_cast<double>(heads_))) {
  norm_ = register_module("norm",
                          torch::nn::GroupNorm(torch::nn::GroupNormOptions(norm_num_groups, channels).eps(norm_eps)));
  to_q_ = register_module("to_q", torch::nn::Linear(channels, channels));
  to_k_ = register_module("to_k", torch::nn::Linear(channels, channels));
  to_v_ = register_module("to_v", torch::nn::Linear(channels, channels));
  proj_attn_ = register_module("proj_attn", torch::nn::Linear(channels, channels));
}

at::Tensor AttentionBlockImpl::forward(const at::Tensor& x) {
  const auto B = x.size(0), C = x.size(1), h = x.size(2), w = x.size(3);
  at::Tensor t = norm_->forward(x).view({B, C, h * w}).transpose(1, 2);  // [B, HW, C]
  at::Tensor o = fused_attention(to_q_->forward(t), to_k_->forward(t), to_v_->forward(t), heads_, scale_);
  return o.transpose(1, 2).reshape({B, C, h, w}) + x;  // [B, C, h, w]
}

}  // namespace ldmg::model
