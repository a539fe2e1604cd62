#include "model/unet_block_options.h"

#include <torch/torch.h>

#include "core/check.h"

namespace ldmg::model {

BlockAttentionLayer BlockAttentionLayer::make(std::int64_t channels, const UNetBlockOptions& o) {
  BlockAttentionLayer a;
  LDMG_ASSERT(o.attention != BlockAttention::None, "no attention requested");
  LDMG_CHECK(o.num_head_channels > 0 && o.num_head_channels <= channels,
             "num_head_channels {} does not fit {} channels", o.num_head_channels, channels);
  const std::int64_t heads = channels / o.num_head_channels;
  if (o.attention == BlockAttention::Cross) {
    a.cross = SpatialTransformer(channels, heads, o.num_head_channels, o.transformer_num_layers, o.norm_num_groups,
                                 o.norm_eps, o.cross_attention_dim);
  } else {
    LDMG_CHECK(channels % heads == 0, "{} channels cannot be split into {} heads", channels, heads);
    a.self = AttentionBlock(channels, o.num_head_channels, o.norm_num_groups, o.norm_eps);
  }
  return a;
}

std::shared_ptr<torch::nn::Module> BlockAttentionLayer::module() const {
  if (cross) return cross.ptr();
  return self.ptr();
}

at::Tensor BlockAttentionLayer::forward(const at::Tensor& x, const at::Tensor& context, ForwardState* state) {
  if (cross) return cross->forward(x, context, state);
  return self->forward(x);
}

}  // namespace ldmg::model
