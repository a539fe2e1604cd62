#include "text/prompt_embeds.h"

#include <torch/torch.h>

#include "core/check.h"

namespace ldmg::text {

at::Tensor prompt_ids(const ClipTokenizer& tokenizer, const std::vector<std::string>& prompts,
                      std::vector<bool>* truncated) {
  const auto n = static_cast<std::int64_t>(prompts.size());
  const int len = tokenizer.max_length();
  auto ids = torch::empty({n, len}, torch::kLong);  // [N, max_length]
  auto acc = ids.accessor<std::int64_t, 2>();
  if (truncated) truncated->assign(prompts.size(), false);
  for (std::int64_t i = 0; i < n; ++i) {
    bool cut = false;
    auto row = tokenizer.encode_padded(prompts[static_cast<std::size_t>(i)], len, &cut);
    for (int j = 0; j < len; ++j) acc[i][j] = row[static_cast<std::size_t>(j)];
    if (truncated) (*truncated)[static_cast<std::size_t>(i)] = cut;
  }
  return ids;
}

at::Tensor encode_prompts(const ClipTokenizer& tokenizer, ClipTextModel& model, const std::vector<std::string>& prompts,
                          std::vector<bool>* truncated) {
  const auto& cfg = model->config();
  LDMG_CHECK(static_cast<std::int64_t>(tokenizer.vocab_size()) <= cfg.vocab_size,
             "tokenizer has {} tokens but the text encoder ({}) only {} embeddings", tokenizer.vocab_size(), cfg.source,
             cfg.vocab_size);
  LDMG_CHECK(tokenizer.max_length() <= cfg.max_position_embeddings,
             "tokenizer max_length {} exceeds the text encoder's max_position_embeddings {} ({})", tokenizer.max_length(),
             cfg.max_position_embeddings, cfg.source);
  auto params = model->parameters();
  LDMG_ASSERT(!params.empty(), "CLIP text model without parameters");
  torch::NoGradGuard no_grad;
  auto ids = prompt_ids(tokenizer, prompts, truncated).to(params.front().device());
  return model->forward(ids);  // [N, max_length, hidden]
}

}  // namespace ldmg::text
