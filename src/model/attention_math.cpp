#include "model/attention_math.h"

#include <torch/torch.h>

#include <atomic>

namespace ldmg::model {

namespace {
std::atomic<AttentionKernel> g_kernel{AttentionKernel::fused};
}

void set_attention_kernel(AttentionKernel kernel) { g_kernel = kernel; }
AttentionKernel attention_kernel() { return g_kernel; }

at::Tensor heads_to_batch(const at::Tensor& x, std::int64_t heads) {
  const auto B = x.size(0), L = x.size(1), C = x.size(2);
  return x.reshape({B, L, heads, C / heads}).permute({0, 2, 1, 3}).reshape({B * heads, L, C / heads});  // [B*heads, L, d]
}

at::Tensor batch_to_heads(const at::Tensor& x, std::int64_t heads) {
  const auto BH = x.size(0), L = x.size(1), d = x.size(2);
  return x.reshape({BH / heads, heads, L, d}).permute({0, 2, 1, 3}).reshape({BH / heads, L, heads * d});  // [B, L, C]
}

at::Tensor attention_probs(const at::Tensor& q, const at::Tensor& k, double scale) {
  const at::Tensor qf = q.to(at::kFloat), kf = k.to(at::kFloat);
  // beta = 0: the (uninitialised) input is ignored, exactly as upstream.
  at::Tensor scores = at::baddbmm(at::empty({qf.size(0), qf.size(1), kf.size(1)}, qf.options()), qf,
                                  kf.transpose(1, 2), /*beta=*/0, /*alpha=*/scale);  // [BH, L, S]
  return scores.softmax(-1);
}

at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t heads,
                           double scale) {
  if (g_kernel == AttentionKernel::explicit_math) return explicit_attention(q, k, v, heads, scale, nullptr);
  const auto B = q.size(0), L = q.size(1), C = q.size(2), S = k.size(1);
  const auto d = C / heads;
  at::Tensor q4 = q.view({B, L, heads, d}).transpose(1, 2);  // [B, heads, L, d]
  at::Tensor k4 = k.view({B, S, heads, d}).transpose(1, 2);  // [B, heads, S, d]
  at::Tensor v4 = v.view({B, S, heads, v.size(2) / heads}).transpose(1, 2);
  at::Tensor o = at::scaled_dot_product_attention(q4, k4, v4, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                                  /*is_causal=*/false, scale);  // [B, heads, L, dv]
  return o.transpose(1, 2).reshape({B, L, heads * o.size(3)});  // [B, L, heads*dv]
}

at::Tensor explicit_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t heads,
                              double scale, at::Tensor* probs_out) {
  at::Tensor probs = attention_probs(heads_to_batch(q, heads), heads_to_batch(k, heads), scale);  // [BH, L, S]
  if (probs_out) *probs_out = probs;
  at::Tensor o = at::bmm(probs.to(v.scalar_type()), heads_to_batch(v, heads));  // [BH, L, dv]
  return batch_to_heads(o, heads);  // [B, L, heads*dv]
}

}  // namespace ldmg::model
