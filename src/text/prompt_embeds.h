#pragma once
// Prompt embeddings as the official get_prompt_embeds
// (official/models_local/get_models.py:153-167): each prompt padded to the
// tokenizer's max_length with the pad id, no attention mask, last_hidden_state.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"

namespace ldmg::text {

// Padded ids [N, max_length] int64 (CPU). `truncated[i]` (optional) tells
// whether prompt i lost tokens.
at::Tensor prompt_ids(const ClipTokenizer& tokenizer, const std::vector<std::string>& prompts,
                      std::vector<bool>* truncated = nullptr);

// [N, max_length, hidden] float32 on the model's device, without autograd;
// the official call is encode_prompts(tok, model, {"", prompt}).
at::Tensor encode_prompts(const ClipTokenizer& tokenizer, ClipTextModel& model, const std::vector<std::string>& prompts,
                          std::vector<bool>* truncated = nullptr);

}  // namespace ldmg::text
