#pragma once
// Scaled dot-product attention, two ways with the same math:
// explicit probabilities (generative 0.2.2 diffusion_model_unet.py:137-153,
// `baddbmm(beta=0, alpha=scale)` then softmax) for layers whose maps are
// captured, and PyTorch's fused kernel, which never materialises them.
#include <ATen/core/Tensor.h>

namespace ldmg::model {

// How attention whose probabilities nobody captures is computed: `fused`
// (scaled_dot_product_attention, never materialises [L, S]) or `explicit`
// (baddbmm + softmax + bmm, the authors' arithmetic; slower, more memory).
enum class AttentionKernel { fused, explicit_math };
void set_attention_kernel(AttentionKernel kernel);  // process-wide, default fused
AttentionKernel attention_kernel();


// [B, L, heads*d] -> [B*heads, L, d] (batch index b*heads + head), as
// upstream reshape_heads_to_batch_dim.
at::Tensor heads_to_batch(const at::Tensor& x, std::int64_t heads);
// [B*heads, L, d] -> [B, L, heads*d].
at::Tensor batch_to_heads(const at::Tensor& x, std::int64_t heads);

// softmax(scale * q k^T) in float32: q [BH, L, d], k [BH, S, d] -> [BH, L, S].
at::Tensor attention_probs(const at::Tensor& q, const at::Tensor& k, double scale);

// Fused attention: q [B, L, heads*d], k/v [B, S, heads*d] -> [B, L, heads*d].
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t heads,
                           double scale);

// The explicit path end to end (same arguments and result as fused_attention);
// `probs_out`, if given, receives [B*heads, L, S].
at::Tensor explicit_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t heads,
                              double scale, at::Tensor* probs_out = nullptr);

}  // namespace ldmg::model
