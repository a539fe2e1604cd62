#include "model/random_weights.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace ldmg::model {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string owner(const std::string& name) { return name.substr(0, name.rfind('.')); }
}  // namespace

void randomize_parameters(torch::nn::Module& module, const RandomWeightOptions& options) {
  c10::InferenceMode not_inference(false);
  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto params = module.named_parameters(/*recurse=*/true);
  std::map<std::string, at::Tensor> weight_of;  // module path -> its weight
  for (const auto& p : params)
    if (ends_with(p.key(), ".weight")) weight_of[owner(p.key())] = p.value();

  for (const auto& p : params) {
    const std::string& name = p.key();
    at::Tensor t = p.value();
    at::Tensor w = weight_of.count(owner(name)) ? weight_of[owner(name)] : at::Tensor();
    const bool is_norm = w.defined() && w.dim() == 1;  // GroupNorm / LayerNorm affine
    if (is_norm) {
      if (ends_with(name, ".weight")) {
        t.fill_(1.0);
        if (options.norm_jitter > 0) t.add_(at::empty_like(t).normal_(0.0, options.norm_jitter, gen));
      } else {
        t.zero_();
        if (options.norm_jitter > 0) t.normal_(0.0, options.norm_jitter, gen);
      }
      continue;
    }
    // Linear / conv: kaiming_uniform(a=sqrt(5)) and its bias both give +-1/sqrt(fan_in).
    const at::Tensor& ref = w.defined() ? w : t;
    std::int64_t fan_in = ref.dim() >= 2 ? ref.numel() / ref.size(0) : ref.numel();
    const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<std::int64_t>(fan_in, 1)));
    t.uniform_(-bound, bound, gen);
    if (options.attn2_qk_scale != 1.0 && (ends_with(name, ".attn2.to_q.weight") || ends_with(name, ".attn2.to_k.weight")))
      t.mul_(options.attn2_qk_scale);
  }
}

DiffusionUNet random_diffusion_unet(const UNetConfig& config, const RandomWeightOptions& options) {
  c10::InferenceMode not_inference(false);
  DiffusionUNet unet(config);
  randomize_parameters(*unet, options);
  for (auto& p : unet->parameters()) p.set_requires_grad(false);
  unet->eval();
  return unet;
}

AutoencoderKL random_autoencoder(const AutoencoderConfig& config, const RandomWeightOptions& options) {
  c10::InferenceMode not_inference(false);
  AutoencoderKL ae(config);
  randomize_parameters(*ae, options);
  for (auto& p : ae->parameters()) p.set_requires_grad(false);
  ae->eval();
  return ae;
}

}  // namespace ldmg::model
