#include "model/diffusion_unet.h"

#include <torch/torch.h>

#include <cstring>

#include "core/check.h"
#include "model/state_dict.h"
#include "model/timestep_embedding.h"

namespace ldmg::model {

DiffusionUNetImpl::DiffusionUNetImpl(const UNetConfig& config) : config_(config) {
  validate(config_);
  const auto& c = config_;
  const std::size_t L = c.num_channels.size();
  const std::int64_t temb = 4 * c.num_channels[0];

  UNetBlockOptions base;
  base.temb_channels = temb;
  base.norm_num_groups = c.norm_num_groups;
  base.norm_eps = c.norm_eps;
  base.resblock_updown = c.resblock_updown;
  base.transformer_num_layers = c.transformer_num_layers;
  base.cross_attention_dim = c.cross_attention_dim;
  auto level_options = [&](bool attention, int head_channels) {
    UNetBlockOptions o = base;
    o.attention = !attention ? BlockAttention::None
                             : (c.with_conditioning ? BlockAttention::Cross : BlockAttention::Self);
    o.num_head_channels = head_channels;
    return o;
  };

  conv_in_ = register_module("conv_in", ConvLayer(c.in_channels, c.num_channels[0], 3, 1, 1));
  time_embed_ = register_module("time_embed", torch::nn::Sequential(torch::nn::Linear(c.num_channels[0], temb),
                                                                    torch::nn::SiLU(), torch::nn::Linear(temb, temb)));

  auto down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  std::int64_t out_ch = c.num_channels[0];
  for (std::size_t i = 0; i < L; ++i) {
    const std::int64_t in_ch = out_ch;
    out_ch = c.num_channels[i];
    down_.emplace_back(in_ch, out_ch, c.num_res_blocks[i], /*add_downsample=*/i + 1 != L,
                       level_options(c.attention_levels[i], c.num_head_channels[i]));
    down_blocks->push_back(down_.back());
  }

  middle_block_ = register_module("middle_block", MidBlock(c.num_channels.back(), level_options(true, c.num_head_channels.back())));

  auto up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  out_ch = c.num_channels.back();
  for (std::size_t i = 0; i < L; ++i) {
    const std::size_t r = L - 1 - i;  // the level this up block works at
    const std::int64_t prev_out = out_ch;
    out_ch = c.num_channels[r];
    const std::int64_t in_ch = c.num_channels[r == 0 ? 0 : r - 1];  // reversed[min(i+1, L-1)]
    up_.emplace_back(in_ch, prev_out, out_ch, c.num_res_blocks[r] + 1, /*add_upsample=*/i + 1 != L,
                     level_options(c.attention_levels[r], c.num_head_channels[r]));
    up_blocks->push_back(up_.back());
  }

  auto out = register_module("out", torch::nn::ModuleList());
  out_norm_ = torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, c.num_channels[0]).eps(c.norm_eps));
  out_conv_ = ConvLayer(c.num_channels[0], c.out_channels, 3, 1, 1);
  out->push_back(out_norm_);
  out->push_back(torch::nn::SiLU());
  out->push_back(out_conv_);

  // Number the attn2 layers in module (named_children DFS) order, as the
  // authors' capture does (official/models_local/attention.py:51).
  for (const auto& item : named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    const std::string& name = item.key();
    auto* ca = item.value()->as<CrossAttentionImpl>();
    if (!ca || name.size() < 6 || name.compare(name.size() - 6, 6, ".attn2") != 0) continue;
    Attn2LayerInfo info;
    info.index = static_cast<int>(attn2_.size());
    info.name = name;
    info.heads = ca->heads();
    const auto block_index = [&](const char* prefix) {
      return std::stoi(name.substr(std::strlen(prefix), name.find('.', std::strlen(prefix)) - std::strlen(prefix)));
    };
    if (name.rfind("down_blocks.", 0) == 0) info.level = block_index("down_blocks.");
    else if (name.rfind("middle_block.", 0) == 0) info.level = static_cast<int>(L) - 1;
    else if (name.rfind("up_blocks.", 0) == 0) info.level = static_cast<int>(L) - 1 - block_index("up_blocks.");
    else LDMG_ASSERT(false, "unexpected attn2 module '{}'", name);
    ca->set_attn2_index(info.index);
    attn2_.push_back(info);
  }
}

std::int64_t DiffusionUNetImpl::size_multiple() const {
  return std::int64_t{1} << (config_.num_channels.size() - 1);
}

std::vector<Attn2LayerInfo> DiffusionUNetImpl::attn2_layers(std::int64_t latent_h, std::int64_t latent_w) const {
  std::vector<Attn2LayerInfo> out = attn2_;
  for (auto& info : out) {
    std::int64_t h = latent_h, w = latent_w;
    for (int l = 0; l < info.level; ++l) {  // stride-2 conv, padding 1: ceil(n/2)
      h = (h + 1) / 2;
      w = (w + 1) / 2;
    }
    info.h = h;
    info.w = w;
  }
  return out;
}

at::Tensor DiffusionUNetImpl::forward(const at::Tensor& x_in, const at::Tensor& timesteps_in,
                                      const at::Tensor& context_in, AttentionObserver* observer, int stop_after_attn2) {
  const auto dtype = conv_in_->conv()->weight.scalar_type();
  const at::Tensor x = x_in.to(dtype);
  const at::Tensor context = context_in.defined() ? context_in.to(dtype) : context_in;
  const auto& c = config_;
  LDMG_CHECK(x.dim() == 4 && x.size(1) == c.in_channels, "U-Net input must be [B, {}, h, w], got {}", c.in_channels,
             c10::str(x.sizes()));
  const std::int64_t m = size_multiple();
  LDMG_CHECK(x.size(2) % m == 0 && x.size(3) % m == 0,
             "U-Net input size {}x{} must be a multiple of {} ({} resolution levels)", x.size(2), x.size(3), m,
             c.num_channels.size());
  const at::Tensor timesteps = timesteps_in.dim() == 0 ? timesteps_in.reshape({1}) : timesteps_in;
  LDMG_CHECK(timesteps.dim() == 1 && (timesteps.size(0) == 1 || timesteps.size(0) == x.size(0)),
             "timesteps must be [1] or [{}], got {}", x.size(0), c10::str(timesteps_in.sizes()));
  if (c.with_conditioning) {
    LDMG_CHECK(context.defined() && context.dim() == 3 && context.size(0) == x.size(0) &&
                   context.size(2) == c.cross_attention_dim,
               "U-Net context must be [{}, S, {}], got {}", x.size(0), c.cross_attention_dim,
               context.defined() ? c10::str(context.sizes()) : std::string("none"));
  } else {
    LDMG_CHECK(!context.defined(), "this U-Net has with_conditioning = false but a context was given");
  }
  LDMG_CHECK(stop_after_attn2 < num_attn2_layers(), "stop_after_attn2 = {} but the U-Net has {} attn2 layers",
             stop_after_attn2, num_attn2_layers());

  ForwardState state;
  state.observer = observer;
  state.stop_after_attn2 = stop_after_attn2;

  // 1. time
  at::Tensor t_emb = timestep_embedding(timesteps.to(x.device()), c.num_channels[0]).to(x.scalar_type());  // [N, C0]
  at::Tensor emb = time_embed_->forward(t_emb);  // [N, 4*C0]

  // 2. down
  at::Tensor h = conv_in_->forward(x);  // [B, C0, h, w]
  std::vector<at::Tensor> skips{h};
  for (auto& block : down_) {
    h = block->forward(h, emb, context, &state, skips);
    if (state.stopped) return {};
  }
  // 3. mid
  h = middle_block_->forward(h, emb, context, &state);
  if (state.stopped) return {};
  // 4. up (each block takes its skips from the back of the stack)
  for (auto& block : up_) {
    h = block->forward(h, skips, emb, context, &state);
    if (state.stopped) return {};
  }
  LDMG_ASSERT(skips.empty(), "{} U-Net skips left over", skips.size());
  // 5. out
  return out_conv_->forward(at::silu(out_norm_->forward(h))).to(x_in.scalar_type());  // [B, out_channels, h, w]
}

namespace {
void freeze(torch::nn::Module& m) {
  for (auto& p : m.parameters()) p.set_requires_grad(false);
  m.eval();
}
}  // namespace

DiffusionUNet load_diffusion_unet(const UNetConfig& config, const std::string& weights_path) {
  c10::InferenceMode not_inference(false);  // parameters must be normal tensors
  torch::NoGradGuard no_grad;
  DiffusionUNet unet(config);
  load_weights_into(*unet, weights_path);
  freeze(*unet);
  return unet;
}

DiffusionUNet load_diffusion_unet(const std::string& config_yaml, const std::string& weights_path) {
  return load_diffusion_unet(load_unet_config(config_yaml), weights_path);
}

}  // namespace ldmg::model
