#pragma once
// generative 0.2.2 diffusion_model_unet.py:699-1007 DownBlock / AttnDownBlock /
// CrossAttnDownBlock: num_res_blocks x (resnet [-> attention]), then an
// optional downsampler; every intermediate output is kept as a skip.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "model/downsample.h"
#include "model/resnet_block.h"
#include "model/unet_block_options.h"

namespace ldmg::model {

class DownBlockImpl : public torch::nn::Module {
 public:
  DownBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t num_res_blocks,
                bool add_downsample, const UNetBlockOptions& o);
  // Appends its outputs to `skips`; undefined result once state->stopped.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context, ForwardState* state,
                     std::vector<at::Tensor>& skips);

 private:
  std::vector<ResnetBlock> resnets_;
  std::vector<BlockAttentionLayer> attentions_;
  Downsample downsampler_{nullptr};
  ResnetBlock res_downsampler_{nullptr};  // resblock_updown
};
TORCH_MODULE(DownBlock);

}  // namespace ldmg::model
