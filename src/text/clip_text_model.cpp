#include "text/clip_text_model.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/check.h"
#include "model/state_dict.h"

namespace ldmg::text {

namespace {
torch::nn::LayerNorm make_layer_norm(const ClipTextConfig& cfg) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.hidden_size}).eps(cfg.layer_norm_eps));
}

// modeling_clip.py _make_causal_mask: finfo(float32).min above the diagonal, 0 elsewhere.
at::Tensor causal_mask(std::int64_t s, const at::TensorOptions& opts) {
  return torch::full({s, s}, std::numeric_limits<float>::lowest(), opts).triu(1);  // [S,S]
}
}  // namespace

ClipAttentionImpl::ClipAttentionImpl(const ClipTextConfig& cfg)
    : heads_(cfg.num_attention_heads),
      head_dim_(cfg.hidden_size / cfg.num_attention_heads),
      scale_(std::pow(static_cast<double>(cfg.hidden_size / cfg.num_attention_heads), -0.5)) {
  const auto c = cfg.hidden_size;
  k_proj_ = register_module("k_proj", torch::nn::Linear(c, c));
  v_proj_ = register_module("v_proj", torch::nn::Linear(c, c));
  q_proj_ = register_module("q_proj", torch::nn::Linear(c, c));
  out_proj_ = register_module("out_proj", torch::nn::Linear(c, c));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const auto b = x.size(0), s = x.size(1), c = x.size(2);
  auto split = [&](const at::Tensor& t) {
    return t.view({b, s, heads_, head_dim_}).transpose(1, 2).reshape({b * heads_, s, head_dim_});  // [B*heads, S, D]
  };
  auto q = split(q_proj_->forward(x) * scale_);
  auto k = split(k_proj_->forward(x));
  auto v = split(v_proj_->forward(x));
  auto scores = torch::bmm(q, k.transpose(1, 2)).view({b, heads_, s, s}) + mask;  // [B, heads, S, S]
  auto probs = torch::softmax(scores.view({b * heads_, s, s}), -1);                // [B*heads, S, S]
  auto out = torch::bmm(probs, v).view({b, heads_, s, head_dim_}).transpose(1, 2).reshape({b, s, c});  // [B, S, C]
  return out_proj_->forward(out);
}

ClipMlpImpl::ClipMlpImpl(const ClipTextConfig& cfg) : act_(cfg.hidden_act) {
  fc1_ = register_module("fc1", torch::nn::Linear(cfg.hidden_size, cfg.intermediate_size));
  fc2_ = register_module("fc2", torch::nn::Linear(cfg.intermediate_size, cfg.hidden_size));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) {
  auto h = fc1_->forward(x);  // [B, S, intermediate]
  // transformers activations.py: GELUActivation (erf) | QuickGELUActivation.
  h = act_ == HiddenAct::kGelu ? torch::gelu(h) : h * torch::sigmoid(1.702 * h);
  return fc2_->forward(h);  // [B, S, C]
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTextConfig& cfg) {
  self_attn_ = register_module("self_attn", ClipAttention(cfg));
  layer_norm1_ = register_module("layer_norm1", make_layer_norm(cfg));
  mlp_ = register_module("mlp", ClipMlp(cfg));
  layer_norm2_ = register_module("layer_norm2", make_layer_norm(cfg));
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto h = x + self_attn_->forward(layer_norm1_->forward(x), mask);
  return h + mlp_->forward(layer_norm2_->forward(h));
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const ClipTextConfig& cfg) : max_positions_(cfg.max_position_embeddings) {
  embeddings_ = register_module("embeddings", std::make_shared<torch::nn::Module>("CLIPTextEmbeddings"));
  token_embedding_ = embeddings_->register_module("token_embedding", torch::nn::Embedding(cfg.vocab_size, cfg.hidden_size));
  position_embedding_ =
      embeddings_->register_module("position_embedding", torch::nn::Embedding(cfg.max_position_embeddings, cfg.hidden_size));
  encoder_ = register_module("encoder", std::make_shared<torch::nn::Module>("CLIPEncoder"));
  layers_ = encoder_->register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < cfg.num_hidden_layers; ++i) layers_->push_back(ClipEncoderLayer(cfg));
  final_layer_norm_ = register_module("final_layer_norm", make_layer_norm(cfg));
}

at::Tensor ClipTextTransformerImpl::forward(const at::Tensor& input_ids) {
  LDMG_CHECK(input_ids.dim() == 2, "CLIP text model expects input_ids [B,S], got {}", c10::str(input_ids.sizes()));
  const auto s = input_ids.size(1);
  LDMG_CHECK(s <= max_positions_, "CLIP text model: {} tokens exceed max_position_embeddings {}", s, max_positions_);
  auto positions = torch::arange(s, input_ids.options().dtype(at::kLong));                 // [S]
  auto h = token_embedding_->forward(input_ids) + position_embedding_->forward(positions);  // [B, S, C]
  auto mask = causal_mask(s, h.options());
  for (const auto& layer : *layers_) h = layer->as<ClipEncoderLayer>()->forward(h, mask);
  return final_layer_norm_->forward(h);
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& cfg) : cfg_(cfg) {
  text_model_ = register_module("text_model", ClipTextTransformer(cfg));
}

at::Tensor ClipTextModelImpl::forward(const at::Tensor& input_ids) {
  LDMG_CHECK(input_ids.scalar_type() == at::kLong, "CLIP text model expects int64 ids, got {}",
             c10::toString(input_ids.scalar_type()));
  return text_model_->forward(input_ids);
}

ClipTextModel load_clip_text_model(const std::string& dir, const std::string& weights) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  const ClipTextConfig cfg = read_clip_text_config((root / "config.json").string());
  fs::path file;
  if (!weights.empty()) {
    file = fs::path(weights).is_absolute() || fs::exists(weights) ? fs::path(weights) : root / weights;
    LDMG_CHECK(fs::exists(file), "text encoder weights '{}' not found", file.string());
  } else if (fs::exists(root / "model.safetensors")) {
    file = root / "model.safetensors";
  } else if (fs::exists(root / "pytorch_model.bin")) {
    file = root / "pytorch_model.bin";
  } else {
    LDMG_FAIL("{}: neither model.safetensors nor pytorch_model.bin found (a Hugging Face text_encoder folder)", dir);
  }
  ClipTextModel m(cfg);
  model::load_weights_into(*m, file.string(), {kClipPositionIdsKey});
  m->eval();
  return m;
}

}  // namespace ldmg::text
