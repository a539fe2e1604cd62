#pragma once
// generative 0.2.2 diffusion_model_unet.py:1010-1143 AttnMidBlock /
// CrossAttnMidBlock: resnet_1 -> attention -> resnet_2 (attention always,
// whatever attention_levels[-1] says).
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/resnet_block.h"
#include "model/unet_block_options.h"

namespace ldmg::model {

class MidBlockImpl : public torch::nn::Module {
 public:
  MidBlockImpl(std::int64_t channels, const UNetBlockOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context, ForwardState* state);

 private:
  ResnetBlock resnet_1_{nullptr}, resnet_2_{nullptr};
  BlockAttentionLayer attention_;
};
TORCH_MODULE(MidBlock);

}  // namespace ldmg::model
