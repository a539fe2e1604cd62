#include "grounding/token_selection.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/check.h"

namespace ldmg::grounding {

TokenSlice prompt_tokens(std::span<const std::int64_t> ids) {
  const int n = static_cast<int>(ids.size());
  return n <= 2 ? TokenSlice{1, 1} : TokenSlice{1, n - 1};
}

TokenSlice pathology_tokens(std::span<const std::int64_t> ids, std::span<const std::int64_t> cls) {
  // torch.nonzero(ids[:, None] == cls)[0]: matching rows in ascending order.
  int first = -1, last = -1;
  for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
    if (std::find(cls.begin(), cls.end(), ids[i]) == cls.end()) continue;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) return {};
  return first == last ? TokenSlice{first, first + 1} : TokenSlice{first, last};
}

TokenSlice explicit_tokens(int begin, int end, int n) {
  LDMG_CHECK(0 <= begin && begin < end && end <= n, "token positions [{}, {}) do not fit a prompt of {} tokens", begin,
             end, n);
  return {begin, end};
}

std::string to_string(const TokenSlice& s) { return fmt::format("[{}, {})", s.begin, s.end); }

}  // namespace ldmg::grounding
