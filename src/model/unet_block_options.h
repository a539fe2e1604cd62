#pragma once
// What the U-Net's down/mid/up blocks share: their hyper-parameters, and the
// attention layer each resnet is followed by (generative 0.2.2 get_down_block
// / get_mid_block / get_up_block: none, AttentionBlock when attention is on
// without conditioning, SpatialTransformer with conditioning).
#include <torch/nn/module.h>

#include <memory>

#include "model/attention_block.h"
#include "model/forward_state.h"
#include "model/spatial_transformer.h"

namespace ldmg::model {

enum class BlockAttention { None, Self, Cross };

struct UNetBlockOptions {
  std::int64_t temb_channels = 0;
  std::int64_t norm_num_groups = 32;
  double norm_eps = 1e-6;
  bool resblock_updown = false;
  BlockAttention attention = BlockAttention::None;
  std::int64_t num_head_channels = 0;
  std::int64_t transformer_num_layers = 1;
  std::int64_t cross_attention_dim = 0;
};

// One attention layer after a resnet: exactly one of the two is set.
struct BlockAttentionLayer {
  SpatialTransformer cross{nullptr};
  AttentionBlock self{nullptr};

  static BlockAttentionLayer make(std::int64_t channels, const UNetBlockOptions& o);
  std::shared_ptr<torch::nn::Module> module() const;
  // Undefined result once state->stopped.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, ForwardState* state);
};

}  // namespace ldmg::model
