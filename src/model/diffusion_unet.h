#pragma once
// MONAI Generative 0.2.2 DiffusionModelUNet (diffusion_model_unet.py:1632-1922),
// 2-D, with submodule names equal to its state_dict keys, so that the
// published diffusion_model.pth loads by name. Cross-attention (`attn2`)
// layers are numbered 0..n-1 in module order (SPEC §5) and report their
// probabilities to an AttentionObserver.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "model/attention_observer.h"
#include "model/conv_layer.h"
#include "model/cross_attention.h"
#include "model/down_block.h"
#include "model/mid_block.h"
#include "model/model_config.h"
#include "model/up_block.h"

namespace ldmg::model {

struct Attn2LayerInfo {
  int index = 0;
  std::string name;  // e.g. "down_blocks.1.attentions.0.transformer_blocks.0.attn2"
  int level = 0;     // resolution level: the map is latent / 2^level
  std::int64_t h = 0, w = 0;  // map size for the latent size asked for
  std::int64_t heads = 1;
};

class DiffusionUNetImpl : public torch::nn::Module {
 public:
  explicit DiffusionUNetImpl(const UNetConfig& config);

  // x [B, C, h, w]; timesteps [1] or [B] (int64; a 0-d tensor is taken as [1]);
  // context [B, S, cross_attention_dim] (undefined for an unconditioned model).
  // Returns [B, out_channels, h, w] in x's dtype: x and context are cast to
  // the weights' dtype (a bf16/fp16 U-Net, model/precision.h) and the output
  // back, so callers keep float32 latents whatever the U-Net computes in. Layers the observer wants use explicit
  // probabilities (reported via on_attention), all other attention the fused
  // kernel. If stop_after_attn2 >= 0, returns an UNDEFINED tensor right after
  // the transformer block holding that attn2 layer has run: everything the
  // observer needs up to that layer has been reported, the rest is skipped.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& context,
                     AttentionObserver* observer = nullptr, int stop_after_attn2 = -1);

  int num_attn2_layers() const { return static_cast<int>(attn2_.size()); }
  // Names, levels, heads and map sizes of the attn2 layers for a latent of
  // latent_h x latent_w.
  std::vector<Attn2LayerInfo> attn2_layers(std::int64_t latent_h, std::int64_t latent_w) const;
  const UNetConfig& config() const { return config_; }
  // Latent sizes must be multiples of this (2^(levels-1)), or the skips do not line up.
  std::int64_t size_multiple() const;

 private:
  UNetConfig config_;
  ConvLayer conv_in_{nullptr};
  torch::nn::Sequential time_embed_{nullptr};
  std::vector<DownBlock> down_;
  MidBlock middle_block_{nullptr};
  std::vector<UpBlock> up_;
  torch::nn::GroupNorm out_norm_{nullptr};
  ConvLayer out_conv_{nullptr};
  std::vector<Attn2LayerInfo> attn2_;  // h = w = 0 here
};
TORCH_MODULE(DiffusionUNet);

// Build from the YAML config (ldm.params) and load the weights (.pth or
// .safetensors) strictly: missing, unexpected or mis-shaped keys raise one
// error listing them. The model is in eval mode, float32, on the CPU, and its
// parameters do not require grad.
DiffusionUNet load_diffusion_unet(const std::string& config_yaml, const std::string& weights_path);
DiffusionUNet load_diffusion_unet(const UNetConfig& config, const std::string& weights_path);

}  // namespace ldmg::model
