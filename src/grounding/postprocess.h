#pragma once
// The post-processing after aggregation (SPEC.md §6; official/sampler.py:
// 26-28, 67, 137-139): Gaussian smoothing, min-max to [0, 1], binary Otsu.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ldmg::grounding {

// normalise_to_01 (sampler.py:26-28): (h - min) / (max - min) in float32;
// min -> 0 and max -> 1 exactly; a constant or NaN-holding map -> all NaN.
at::Tensor normalise_01(const at::Tensor& map);

struct PostprocessOptions {
  double sigma = 2.5;  // <= 0 skips the Gaussian
  bool otsu = true;    // false: the normalised map is the result
};

struct PostprocessResult {
  at::Tensor gauss;  // after gaussian_filter (= the averaged map when sigma <= 0)
  at::Tensor norm;   // after normalise_01
  at::Tensor final;  // after Otsu masking (= norm when otsu is off)
  float gauss_min = 0.f, gauss_max = 0.f;
  float threshold = 0.f;        // Otsu threshold (NaN if none or off)
  double otsu_margin = 0.0;     // min |norm - threshold| (NaN if none or off)
  std::int64_t mask_count = 0;  // pixels above the threshold
};

// An all-NaN input (no tokens selected) stays all NaN.
PostprocessResult postprocess_heatmap(const at::Tensor& averaged, const PostprocessOptions& options = {});

}  // namespace ldmg::grounding
