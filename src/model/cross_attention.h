#pragma once
// generative 0.2.2 diffusion_model_unet.py:72-175 CrossAttention: to_q/to_k/to_v
// without bias, to_out.0 with bias (to_out.1 is Dropout(0)); heads =
// channels // num_head_channels, scale = 1/sqrt(num_head_channels).
// An `attn2` layer of a DiffusionUNet carries its index (SPEC §5); when the
// observer wants it, its probabilities are computed explicitly and reported.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/forward_state.h"

namespace ldmg::model {

class CrossAttentionImpl : public torch::nn::Module {
 public:
  // context_dim 0: self-attention (keys/values from x).
  CrossAttentionImpl(std::int64_t query_dim, std::int64_t context_dim, std::int64_t heads, std::int64_t head_channels);

  // x [B, L, query_dim]; context [B, S, context_dim] or undefined (self-attention);
  // h, w: the spatial map behind L (reported to the observer).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, ForwardState* state, std::int64_t h,
                     std::int64_t w);

  void set_attn2_index(int index) { attn2_index_ = index; }
  int attn2_index() const { return attn2_index_; }
  std::int64_t heads() const { return heads_; }
  double scale() const { return scale_; }

 private:
  std::int64_t heads_;
  double scale_;
  int attn2_index_ = -1;  // -1: not a numbered cross-attention layer
  torch::nn::Linear to_q_{nullptr}, to_k_{nullptr}, to_v_{nullptr}, out_{nullptr};
  torch::nn::ModuleList to_out_;
};
TORCH_MODULE(CrossAttention);

}  // namespace ldmg::model
