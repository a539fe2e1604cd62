#pragma once
// Which prompt tokens a heatmap averages over (SPEC.md §6; upstream
// official/sampler.py:110-127). Positions index the UNPADDED token sequence
// (BOS ... EOS), which is also the column index into the 77-wide attention.
#include <cstdint>
#include <span>
#include <string>

namespace ldmg::grounding {

// Half-open range [begin, end) of token positions. Empty = "no tokens": the
// heatmap is all NaN (|CNR| 0, AUC 0.5), as upstream's Table III no-match.
struct TokenSlice {
  int begin = 0;
  int end = 0;
  bool empty() const { return end <= begin; }
  int size() const { return empty() ? 0 : end - begin; }
};

// The paper's default: positions 1 .. n-2 (BOS and EOS excluded) of the n
// unpadded ids (sampler.py:116). n <= 2 (empty prompt) gives an empty slice.
TokenSlice prompt_tokens(std::span<const std::int64_t> unpadded_ids);

// Table III, pathology tokens only (sampler.py:118-127): `class_subtokens` are
// the class name's own ids WITHOUT BOS/EOS (its tokenization [1:-1]). Every
// prompt position whose id equals any of them matches (partial words count);
// the slice runs from the first match to the last match EXCLUSIVE, widened to
// one token when first == last; no match gives an empty slice.
TokenSlice pathology_tokens(std::span<const std::int64_t> unpadded_ids,
                            std::span<const std::int64_t> class_subtokens);

// Explicit positions [begin, end), checked against n unpadded tokens
// (throws ldmg::Error naming the range when it does not fit).
TokenSlice explicit_tokens(int begin, int end, int n);

std::string to_string(const TokenSlice& s);  // "[begin, end)"

}  // namespace ldmg::grounding
