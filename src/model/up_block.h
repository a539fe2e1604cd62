#pragma once
// generative 0.2.2 diffusion_model_unet.py:1146-1458 UpBlock / AttnUpBlock /
// CrossAttnUpBlock: for each resnet, h = cat([h, skips.pop()], dim 1) (h
// first) -> resnet [-> attention]; then an optional upsampler.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "model/resnet_block.h"
#include "model/unet_block_options.h"
#include "model/upsample.h"

namespace ldmg::model {

class UpBlockImpl : public torch::nn::Module {
 public:
  // in_channels: channels of the last skip; prev_output_channel: of h.
  UpBlockImpl(std::int64_t in_channels, std::int64_t prev_output_channel, std::int64_t out_channels,
              std::int64_t num_res_blocks, bool add_upsample, const UNetBlockOptions& o);
  // Pops num_resnets() skips from the back of `skips`.
  at::Tensor forward(const at::Tensor& x, std::vector<at::Tensor>& skips, const at::Tensor& temb,
                     const at::Tensor& context, ForwardState* state);
  std::size_t num_resnets() const { return resnets_.size(); }

 private:
  std::vector<ResnetBlock> resnets_;
  std::vector<BlockAttentionLayer> attentions_;
  Upsample upsampler_{nullptr};
  ResnetBlock res_upsampler_{nullptr};  // resblock_updown
};
TORCH_MODULE(UpBlock);

}  // namespace ldmg::model
