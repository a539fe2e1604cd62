#include "model/autoencoder_kl.h"

#include <torch/torch.h>

#include "core/check.h"
#include "model/ae_res_block.h"
#include "model/attention_block.h"
#include "model/downsample.h"
#include "model/state_dict.h"
#include "model/upsample.h"

namespace ldmg::model {

namespace {

// Appends `m` to the ModuleList `blocks` (its key is its index) and to the
// forward steps.
template <typename List, typename Holder>
void add_block(List& blocks, std::vector<std::function<at::Tensor(const at::Tensor&)>>& steps,
               Holder m) {
  blocks->push_back(m);
  steps.push_back([m](const at::Tensor& x) mutable { return m->forward(x); });
}

torch::nn::GroupNorm group_norm(const AutoencoderConfig& c, std::int64_t channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, channels).eps(c.norm_eps));
}

AttentionBlock attention(const AutoencoderConfig& c, std::int64_t channels) {
  return AttentionBlock(channels, /*head_channels=*/0, c.norm_num_groups, c.norm_eps);  // one head
}

}  // namespace

AeEncoderImpl::AeEncoderImpl(const AutoencoderConfig& c) {
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  const std::size_t L = c.num_channels.size();
  add_block(blocks, steps_, ConvLayer(c.in_channels, c.num_channels[0], 3, 1, 1));
  std::int64_t out_ch = c.num_channels[0];
  for (std::size_t i = 0; i < L; ++i) {
    std::int64_t in_ch = out_ch;
    out_ch = c.num_channels[i];
    for (int r = 0; r < c.num_res_blocks[i]; ++r) {
      add_block(blocks, steps_, AeResBlock(in_ch, out_ch, c.norm_num_groups, c.norm_eps));
      in_ch = out_ch;
      if (c.attention_levels[i]) add_block(blocks, steps_, attention(c, in_ch));
    }
    if (i + 1 != L) add_block(blocks, steps_, PaddedDownsample(in_ch));
  }
  const std::int64_t last = c.num_channels.back();
  if (c.with_encoder_nonlocal_attn) {
    add_block(blocks, steps_, AeResBlock(last, last, c.norm_num_groups, c.norm_eps));
    add_block(blocks, steps_, attention(c, last));
    add_block(blocks, steps_, AeResBlock(last, last, c.norm_num_groups, c.norm_eps));
  }
  add_block(blocks, steps_, group_norm(c, last));
  add_block(blocks, steps_, ConvLayer(last, c.latent_channels, 3, 1, 1));
}

at::Tensor AeEncoderImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (auto& step : steps_) h = step(h);
  return h;  // [B, latent, H/2^(L-1), W/2^(L-1)]
}

AeDecoderImpl::AeDecoderImpl(const AutoencoderConfig& c) {
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  const std::size_t L = c.num_channels.size();
  const std::int64_t first = c.num_channels.back();
  add_block(blocks, steps_, ConvLayer(c.latent_channels, first, 3, 1, 1));
  if (c.with_decoder_nonlocal_attn) {
    add_block(blocks, steps_, AeResBlock(first, first, c.norm_num_groups, c.norm_eps));
    add_block(blocks, steps_, attention(c, first));
    add_block(blocks, steps_, AeResBlock(first, first, c.norm_num_groups, c.norm_eps));
  }
  std::int64_t out_ch = first;
  std::int64_t in_ch = first;
  for (std::size_t i = 0; i < L; ++i) {
    const std::size_t r = L - 1 - i;
    in_ch = out_ch;
    out_ch = c.num_channels[r];
    for (int k = 0; k < c.num_res_blocks[r]; ++k) {
      add_block(blocks, steps_, AeResBlock(in_ch, out_ch, c.norm_num_groups, c.norm_eps));
      in_ch = out_ch;
      if (c.attention_levels[r]) add_block(blocks, steps_, attention(c, in_ch));
    }
    if (i + 1 != L) add_block(blocks, steps_, Upsample(in_ch));
  }
  add_block(blocks, steps_, group_norm(c, in_ch));
  add_block(blocks, steps_, ConvLayer(in_ch, c.out_channels, 3, 1, 1));
}

at::Tensor AeDecoderImpl::forward(const at::Tensor& z) {
  at::Tensor h = z;
  for (auto& step : steps_) h = step(h);
  return h;
}

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderConfig& config) : config_(config) {
  validate(config_);
  const std::int64_t lc = config_.latent_channels;
  encoder_ = register_module("encoder", AeEncoder(config_));
  decoder_ = register_module("decoder", AeDecoder(config_));
  quant_conv_mu_ = register_module("quant_conv_mu", ConvLayer(lc, lc, 1, 1, 0));
  quant_conv_log_sigma_ = register_module("quant_conv_log_sigma", ConvLayer(lc, lc, 1, 1, 0));
  post_quant_conv_ = register_module("post_quant_conv", ConvLayer(lc, lc, 1, 1, 0));
}

at::Tensor AutoencoderKLImpl::encode_mean(const at::Tensor& x) {
  LDMG_CHECK(x.dim() == 4 && x.size(1) == config_.in_channels, "autoencoder input must be [B, {}, H, W], got {}",
             config_.in_channels, c10::str(x.sizes()));
  return quant_conv_mu_->forward(encoder_->forward(x));  // [B, latent, h, w]
}

std::pair<at::Tensor, at::Tensor> AutoencoderKLImpl::encode(const at::Tensor& x) {
  LDMG_CHECK(x.dim() == 4 && x.size(1) == config_.in_channels, "autoencoder input must be [B, {}, H, W], got {}",
             config_.in_channels, c10::str(x.sizes()));
  at::Tensor h = encoder_->forward(x);
  at::Tensor log_var = at::clamp(quant_conv_log_sigma_->forward(h), -30.0, 20.0);
  return {quant_conv_mu_->forward(h), at::exp(log_var / 2)};
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& z) {
  LDMG_CHECK(z.dim() == 4 && z.size(1) == config_.latent_channels, "latent must be [B, {}, h, w], got {}",
             config_.latent_channels, c10::str(z.sizes()));
  return decoder_->forward(post_quant_conv_->forward(z));
}

AutoencoderKL load_autoencoder(const AutoencoderConfig& config, const std::string& weights_path) {
  c10::InferenceMode not_inference(false);  // parameters must be normal tensors
  torch::NoGradGuard no_grad;
  AutoencoderKL ae(config);
  load_weights_into(*ae, weights_path);
  for (auto& p : ae->parameters()) p.set_requires_grad(false);
  ae->eval();
  return ae;
}

AutoencoderKL load_autoencoder(const std::string& config_yaml, const std::string& weights_path) {
  return load_autoencoder(load_autoencoder_config(config_yaml), weights_path);
}

}  // namespace ldmg::model
