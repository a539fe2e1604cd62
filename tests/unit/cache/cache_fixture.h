#pragma once
// A fake inversion for the attention cache tests: a small unit (2 prompts of
// 5 and 8 tokens, 3 of 11 attn2 layers with 4x4, 2x3 and 4x4 maps, 4 of 10
// steps cached) and maps whose every value is a known function of
// (prompt, layer, step, pixel, token), so a reader can check them anywhere.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cache/attention_cache_writer.h"

namespace ldmg::test {

inline constexpr std::int64_t kContext = 77;   // CLIP's padded length
inline constexpr float kPaddingValue = -7.0f;  // columns >= n: must never reach the file

// Known map value in [0.01, 1): a SplitMix64 hash of the coordinates.
inline float cache_value(int prompt, int layer, int step, std::int64_t pixel, std::int64_t token) {
  std::uint64_t z = (static_cast<std::uint64_t>(prompt) << 56) ^ (static_cast<std::uint64_t>(layer) << 48) ^
                    (static_cast<std::uint64_t>(step) << 32) ^ (static_cast<std::uint64_t>(pixel) << 8) ^
                    static_cast<std::uint64_t>(token);
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return 0.01f + 0.99f * static_cast<float>(z >> 40) / static_cast<float>(1ull << 24);
}

inline cache::CachedPrompt make_prompt(int i, int n_tokens) {
  cache::CachedPrompt p;
  p.text = i == 0 ? "small left pleural effusion" : "right lower lobe consolidation with air bronchograms";
  p.token_ids.push_back(49406);
  p.token_strings.push_back("<|startoftext|>");
  for (int t = 1; t + 1 < n_tokens; ++t) {
    p.token_ids.push_back(1000 + 10 * i + t);
    p.token_strings.push_back("tok" + std::to_string(t) + "</w>");
  }
  p.token_ids.push_back(49407);
  p.token_strings.push_back("<|endoftext|>");
  p.category = i == 0 ? "Pleural Effusion" : "Consolidation";
  p.boxes = i == 0 ? std::vector<std::array<double, 4>>{{10.5, 20.0, 30.0, 40.25}}
                   : std::vector<std::array<double, 4>>{{1, 2, 3, 4}, {100, 200, 50.5, 60}};
  p.image_width = 2544;
  p.image_height = 3056;
  p.pair_index = 40 + i;
  p.dicom_id = "dicom-\xc3\xa9-42";  // UTF-8
  p.image_path = "files/p10/p10000032/s5041/img.jpg";
  return p;
}

inline cache::CacheUnitSpec make_spec(const std::string& unit_id = "unit-abc123") {
  cache::CacheUnitSpec s;
  s.unit_id = unit_id;
  s.T = 10;
  s.config_json = R"({"heatmap":{"t_min":2,"t_max":8},"layers":[0,3,8]})";
  s.provenance_json = R"({"git":"v0-test","host":"test"})";
  s.model_digest = "sha256:0123abcd";
  s.prompts = {make_prompt(0, 5), make_prompt(1, 8)};
  for (int i = 0; i < 10; ++i) s.timesteps.push_back(1 + 100 * i);
  s.cached_steps = {2, 3, 4, 7};
  s.layers = {{0, "down_blocks.1.attentions.0.transformer_blocks.0.attn2", 4, 4},
              {3, "down_blocks.2.attentions.1.transformer_blocks.0.attn2", 2, 3},
              {8, "up_blocks.1.attentions.0.transformer_blocks.0.attn2", 4, 4}};
  return s;
}

// [h*w, 77] probs as the U-Net gives them: known values in the prompt's n
// token columns, kPaddingValue elsewhere.
inline at::Tensor fake_probs(int prompt, int layer, int step, std::int64_t hw, std::int64_t n) {
  at::Tensor t = at::full({hw, kContext}, kPaddingValue, at::kFloat);  // [HW, S]
  auto a = t.accessor<float, 2>();
  for (std::int64_t i = 0; i < hw; ++i)
    for (std::int64_t j = 0; j < n; ++j) a[i][j] = cache_value(prompt, layer, step, i, j);
  return t;
}

// Delivers maps like the inversion does: every step, every one of 11 attn2
// layers, every prompt (the writer keeps only the planned ones). `skip` (if
// set) is one (prompt, layer, step) left out.
struct Skip {
  int prompt = -1, layer = -1, step = -1;
};
inline void produce(cache::AttentionCacheWriter& w, const cache::CacheUnitSpec& spec, Skip skip = {}) {
  for (int step = 0; step < static_cast<int>(spec.timesteps.size()); ++step)
    for (int layer = 0; layer < 11; ++layer)
      for (int p = 0; p < static_cast<int>(spec.prompts.size()); ++p) {
        if (p == skip.prompt && layer == skip.layer && step == skip.step) continue;
        const int pos = spec.layer_position(layer);
        const std::int64_t h = pos >= 0 ? spec.layers[pos].h : 8;
        const std::int64_t wd = pos >= 0 ? spec.layers[pos].w : 8;
        w.on_maps(step, layer, p, fake_probs(p, layer, step, h * wd, spec.prompts[p].n_tokens()), h, wd);
      }
}

// The expected [h*w, n] map.
inline at::Tensor expected_map(const cache::CacheUnitSpec& spec, int prompt, int layer, int step) {
  const cache::CachedLayer& l = spec.layers[spec.layer_position(layer)];
  return fake_probs(prompt, layer, step, l.h * l.w, spec.prompts[prompt].n_tokens())
      .narrow(1, 0, spec.prompts[prompt].n_tokens())
      .contiguous();  // [HW, n]
}

}  // namespace ldmg::test
