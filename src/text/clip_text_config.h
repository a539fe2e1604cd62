#pragma once
// The Hugging Face config.json of a CLIPTextModel (text_encoder/config.json).
#include <cstdint>
#include <string>
#include <string_view>

namespace ldmg::text {

enum class HiddenAct { kGelu, kQuickGelu };  // exact erf GELU | x * sigmoid(1.702 x)

struct ClipTextConfig {
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t max_position_embeddings = 0;
  std::int64_t vocab_size = 0;
  HiddenAct hidden_act = HiddenAct::kGelu;
  double layer_norm_eps = 1e-5;
  std::string source;  // file it was read from, for messages
};

// Every field above is required; a missing or mistyped key, an unknown
// hidden_act or inconsistent sizes throw ldmg::Error naming the key and file.
ClipTextConfig read_clip_text_config(const std::string& path);
ClipTextConfig parse_clip_text_config(std::string_view json_text, const std::string& source);

std::string_view to_string(HiddenAct act);

}  // namespace ldmg::text
