#include "model/transformer_block.h"

#include <torch/torch.h>

namespace ldmg::model {

TransformerBlockImpl::TransformerBlockImpl(std::int64_t channels, std::int64_t heads, std::int64_t head_channels,
                                           std::int64_t context_dim) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels}).eps(1e-5)); };
  attn1_ = register_module("attn1", CrossAttention(channels, 0, heads, head_channels));
  ff_ = register_module("ff", FeedForward(channels, 4 * channels));
  attn2_ = register_module("attn2", CrossAttention(channels, context_dim, heads, head_channels));
  norm1_ = register_module("norm1", ln());
  norm2_ = register_module("norm2", ln());
  norm3_ = register_module("norm3", ln());
}

at::Tensor TransformerBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& context, ForwardState* state,
                                         std::int64_t h, std::int64_t w) {
  at::Tensor x = attn1_->forward(norm1_->forward(x_in), at::Tensor(), state, h, w) + x_in;
  x = attn2_->forward(norm2_->forward(x), context, state, h, w) + x;
  if (state && state->stop_after_attn2 >= 0 && state->stop_after_attn2 == attn2_->attn2_index()) {
    state->stopped = true;
    return {};
  }
  return ff_->forward(norm3_->forward(x)) + x;  // [B, HW, C]
}

}  // namespace ldmg::model
