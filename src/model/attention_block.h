#pragma once
// Spatial self-attention, generative 0.2.2 autoencoderkl.py:192-306 and
// diffusion_model_unet.py:345-458 (AttentionBlock, identical in both):
// GroupNorm -> [B, HW, C] -> to_q/to_k/to_v (with bias) -> attention ->
// + residual. Upstream registers `proj_attn` but its forward never applies
// it; we load it and do the same.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace ldmg::model {

class AttentionBlockImpl : public torch::nn::Module {
 public:
  // head_channels 0: one head (num_head_channels=None upstream).
  AttentionBlockImpl(std::int64_t channels, std::int64_t head_channels, std::int64_t norm_num_groups,
                     double norm_eps);
  at::Tensor forward(const at::Tensor& x);  // [B, C, h, w] -> same

 private:
  std::int64_t heads_;
  double scale_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Linear to_q_{nullptr}, to_k_{nullptr}, to_v_{nullptr}, proj_attn_{nullptr};
};
TORCH_MODULE(AttentionBlock);

}  // namespace ldmg::model
