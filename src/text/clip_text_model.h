#pragma once
// Hugging Face CLIPTextModel (transformers/models/clip/modeling_clip.py,
// v4.34) as LibTorch modules whose registered names equal the checkpoint
// keys, e.g. text_model.encoder.layers.0.self_attn.q_proj.weight.
// forward(ids [B,S]) -> last_hidden_state [B,S,hidden] after final_layer_norm,
// causal mask only: padding is attended (QUIRKS.md §2).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "text/clip_text_config.h"

namespace ldmg::text {

// modeling_clip.py CLIPAttention: q scaled by head_dim^-0.5 before q k^T.
class ClipAttentionImpl : public torch::nn::Module {
 public:
  explicit ClipAttentionImpl(const ClipTextConfig& cfg);
  // x [B,S,C], mask [S,S] added to the scores
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);

 private:
  std::int64_t heads_, head_dim_;
  double scale_;
  torch::nn::Linear k_proj_{nullptr}, v_proj_{nullptr}, q_proj_{nullptr}, out_proj_{nullptr};
};
TORCH_MODULE(ClipAttention);

// CLIPMLP: fc1 -> gelu | quick_gelu -> fc2.
class ClipMlpImpl : public torch::nn::Module {
 public:
  explicit ClipMlpImpl(const ClipTextConfig& cfg);
  at::Tensor forward(const at::Tensor& x);

 private:
  HiddenAct act_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(ClipMlp);

// CLIPEncoderLayer: pre-norm residual attention and MLP.
class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderLayerImpl(const ClipTextConfig& cfg);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);

 private:
  ClipAttention self_attn_{nullptr};
  torch::nn::LayerNorm layer_norm1_{nullptr};
  ClipMlp mlp_{nullptr};
  torch::nn::LayerNorm layer_norm2_{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

// CLIPTextTransformer ("text_model"): embeddings, encoder.layers.N, final_layer_norm.
class ClipTextTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipTextTransformerImpl(const ClipTextConfig& cfg);
  at::Tensor forward(const at::Tensor& input_ids);

 private:
  std::int64_t max_positions_;
  std::shared_ptr<torch::nn::Module> embeddings_, encoder_;
  torch::nn::Embedding token_embedding_{nullptr}, position_embedding_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::LayerNorm final_layer_norm_{nullptr};
};
TORCH_MODULE(ClipTextTransformer);

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const ClipTextConfig& cfg);
  // input_ids [B,S] int64, S <= max_position_embeddings -> [B,S,hidden]
  at::Tensor forward(const at::Tensor& input_ids);
  const ClipTextConfig& config() const { return cfg_; }

 private:
  ClipTextConfig cfg_;
  ClipTextTransformer text_model_{nullptr};
};
TORCH_MODULE(ClipTextModel);

// The checkpoint key that pre-4.31 transformers saved as a buffer; accepted
// and ignored when loading.
inline constexpr const char* kClipPositionIdsKey = "text_model.embeddings.position_ids";

// Builds the model from <dir>/config.json and loads, strictly, <dir>/model.safetensors
// (preferred) or <dir>/pytorch_model.bin; `weights` overrides the file (a
// path, or a name inside dir). Returns the model in eval mode, float32, CPU.
ClipTextModel load_clip_text_model(const std::string& dir, const std::string& weights = "");

}  // namespace ldmg::text
