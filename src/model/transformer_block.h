#pragma once
// generative 0.2.2 diffusion_model_unet.py:178-234 BasicTransformerBlock:
// x += attn1(norm1 x); x += attn2(norm2 x, context); x += ff(norm3 x);
// LayerNorm eps 1e-5 (nn.LayerNorm default).
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "model/cross_attention.h"
#include "model/feed_forward.h"

namespace ldmg::model {

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(std::int64_t channels, std::int64_t heads, std::int64_t head_channels,
                       std::int64_t context_dim);
  // x [B, HW, C]. Returns an undefined tensor if state->stop_after_attn2 is
  // this block's attn2 (state->stopped is then set).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, ForwardState* state, std::int64_t h,
                     std::int64_t w);
  CrossAttention& attn2() { return attn2_; }

 private:
  CrossAttention attn1_{nullptr}, attn2_{nullptr};
  FeedForward ff_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
};
TORCH_MODULE(TransformerBlock);

}  // namespace ldmg::model
