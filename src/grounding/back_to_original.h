#pragma once
// The 512x512 heatmap on the original image (SPEC.md §7; upstream
// official/eval_ldm.py:82-94, QUIRKS.md §6): nearest resize to s x s with
// s = min(width, height), then NaN padding to height x width.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ldmg::grounding {

// PyTorch's legacy nearest index (ATen UpSample.h nearest_idx, torch 1.13):
// identity when sizes match, dst >> 1 when out == 2 * in, else
// min(floorf(dst * (float)in / out), in - 1).
std::int64_t nearest_source_index(std::int64_t dst, std::int64_t in_size, std::int64_t out_size);

// map: [n, n] float32 (n = 512, any device). Returns [height, width] float32 on the CPU: the map
// resized to s x s, padded with NaN left floor((w-s)/2), right ceil, top
// floor((h-s)/2), bottom ceil. Not the inverse of resize + center crop; it is
// what the published evaluation does.
at::Tensor back_to_original(const at::Tensor& map, std::int64_t width, std::int64_t height);

}  // namespace ldmg::grounding
