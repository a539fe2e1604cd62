#include "grounding/back_to_original.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"

namespace ldmg::grounding {

std::int64_t nearest_source_index(std::int64_t dst, std::int64_t in_size, std::int64_t out_size) {
  if (out_size == in_size) return dst;
  if (out_size == 2 * in_size) return dst >> 1;
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  return std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(dst) * scale)), in_size - 1);
}

at::Tensor back_to_original(const at::Tensor& map, std::int64_t width, std::int64_t height) {
  LDMG_CHECK(map.dim() == 2 && map.size(0) == map.size(1), "heatmap must be square [n, n]");
  LDMG_CHECK(width > 0 && height > 0, "original image size must be positive, got {}x{}", width, height);
  const at::Tensor m = map.to(at::kCPU, at::kFloat).contiguous();
  const std::int64_t n = m.size(0);
  const std::int64_t s = std::min(width, height);
  const std::int64_t left = (width - s) / 2, top = (height - s) / 2;  // floor; right/bottom take the ceil
  at::Tensor out = at::full({height, width}, std::numeric_limits<float>::quiet_NaN(), at::kFloat);
  const float* src = m.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  std::vector<std::int64_t> col(s);
  for (std::int64_t x = 0; x < s; ++x) col[x] = nearest_source_index(x, n, s);
  for (std::int64_t y = 0; y < s; ++y) {
    const float* row = src + nearest_source_index(y, n, s) * n;
    float* o = dst + (y + top) * width + left;
    for (std::int64_t x = 0; x < s; ++x) o[x] = row[col[x]];
  }
  return out;
}

}  // namespace ldmg::grounding
