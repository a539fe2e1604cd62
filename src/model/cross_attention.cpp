#include "model/cross_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "model/attention_math.h"

namespace ldmg::model {

CrossAttentionImpl::CrossAttentionImpl(std::int64_t query_dim, std::int64_t context_dim, std::int64_t heads,
                                       std::int64_t head_channels)
    : heads_(heads), scale_(1.0 / std::sqrt(static_cast<double>(head_channels))) {
  const std::int64_t inner = heads * head_channels;
  const std::int64_t kv_dim = context_dim > 0 ? context_dim : query_dim;
  to_q_ = register_module("to_q", torch::nn::Linear(torch::nn::LinearOptions(query_dim, inner).bias(false)));
  to_k_ = register_module("to_k", torch::nn::Linear(torch::nn::LinearOptions(kv_dim, inner).bias(false)));
  to_v_ = register_module("to_v", torch::nn::Linear(torch::nn::LinearOptions(kv_dim, inner).bias(false)));
  out_ = torch::nn::Linear(torch::nn::LinearOptions(inner, query_dim).bias(true));
  to_out_ = register_module("to_out", torch::nn::ModuleList(out_));
}

at::Tensor CrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context, ForwardState* state,
                                       std::int64_t h, std::int64_t w) {
  const at::Tensor& ctx = context.defined() ? context : x;
  at::Tensor q = to_q_->forward(x);    // [B, L, inner]
  at::Tensor k = to_k_->forward(ctx);  // [B, S, inner]
  at::Tensor v = to_v_->forward(ctx);  // [B, S, inner]
  AttentionObserver* obs = state ? state->observer : nullptr;
  at::Tensor o;
  if (obs && attn2_index_ >= 0 && obs->wants(attn2_index_)) {
    at::Tensor probs;
    o = explicit_attention(q, k, v, heads_, scale_, &probs);  // probs [B*heads, HW, S]
    obs->on_attention(attn2_index_, probs, heads_, h, w);
  } else {
    o = fused_attention(q, k, v, heads_, scale_);  // [B, L, inner]
  }
  return out_->forward(o.to(x.scalar_type()));  // [B, L, query_dim]
}

}  // namespace ldmg::model
