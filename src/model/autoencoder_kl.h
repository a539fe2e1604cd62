#pragma once
// MONAI Generative 0.2.2 AutoencoderKL (autoencoderkl.py:515-766), 2-D, with
// submodule names equal to its state_dict keys (`encoder.blocks.N...`,
// `quant_conv_mu.conv`, ...). The method needs only the encoder mean
// (z0 = encode(x)[0] * 0.3, official/sampler.py:94); the decoder is built too
// so that loading the published checkpoint stays strict on every key.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/conv_layer.h"
#include "model/model_config.h"

namespace ldmg::model {

// autoencoderkl.py:309-432 Encoder: conv -> per level num_res_blocks x
// (ResBlock [-> AttentionBlock]) [-> Downsample] -> [ResBlock, AttentionBlock,
// ResBlock] -> GroupNorm -> conv to latent_channels. Note: no activation
// between that GroupNorm and the last conv (upstream).
class AeEncoderImpl : public torch::nn::Module {
 public:
  explicit AeEncoderImpl(const AutoencoderConfig& c);
  at::Tensor forward(const at::Tensor& x);

 private:
  std::vector<std::function<at::Tensor(const at::Tensor&)>> steps_;
};
TORCH_MODULE(AeEncoder);

// autoencoderkl.py:435-512 Decoder: the mirror image, with Upsample.
class AeDecoderImpl : public torch::nn::Module {
 public:
  explicit AeDecoderImpl(const AutoencoderConfig& c);
  at::Tensor forward(const at::Tensor& z);

 private:
  std::vector<std::function<at::Tensor(const at::Tensor&)>> steps_;
};
TORCH_MODULE(AeDecoder);

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKLImpl(const AutoencoderConfig& config);

  // x [B, in_channels, H, W] -> z_mu [B, latent_channels, H/2^(L-1), W/2^(L-1)].
  at::Tensor encode_mean(const at::Tensor& x);
  // (z_mu, z_sigma) as upstream encode(): sigma = exp(clamp(log_var, -30, 20) / 2).
  std::pair<at::Tensor, at::Tensor> encode(const at::Tensor& x);
  // z [B, latent, h, w] -> image [B, out_channels, h*2^(L-1), w*2^(L-1)].
  at::Tensor decode(const at::Tensor& z);
  const AutoencoderConfig& config() const { return config_; }

 private:
  AutoencoderConfig config_;
  AeEncoder encoder_{nullptr};
  AeDecoder decoder_{nullptr};
  ConvLayer quant_conv_mu_{nullptr}, quant_conv_log_sigma_{nullptr}, post_quant_conv_{nullptr};
};
TORCH_MODULE(AutoencoderKL);

// Build from the YAML config (stage1.params) and load the weights (.pth or
// .safetensors) strictly. Eval mode, float32, CPU, no grad.
AutoencoderKL load_autoencoder(const std::string& config_yaml, const std::string& weights_path);
AutoencoderKL load_autoencoder(const AutoencoderConfig& config, const std::string& weights_path);

}  // namespace ldmg::model
