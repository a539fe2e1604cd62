#pragma once
// Binary Otsu thresholding as the authors' code does it (official/sampler.py:
// 17-23): skimage 0.19.3 threshold_multiotsu(h, classes=2) and
// h * (h > thr). QUIRKS.md §5 lists the float32 details reproduced here.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ldmg::grounding {

// (Computed on the CPU; `masked` is a CPU tensor.)
// The threshold (a histogram bin centre, float32) of a finite map; NaN when
// the map has a NaN or fewer than 2 distinct values (skimage raises there).
// Histogram: numpy's, nbins over [min, max]; probabilities cast to float32;
// exhaustive float32 search of var(0, k) + var(k+1, nbins-1) with skimage's
// LUT quirks (S[0] = p[0], var(0,0) = 0); the first strict maximum wins.
float otsu_threshold(const at::Tensor& map, int nbins = 256);

struct OtsuResult {
  at::Tensor masked;           // map * (map > threshold), float32
  float threshold = 0.f;       // NaN when no threshold exists (masked is then all NaN)
  double margin = 0.0;         // min |map - threshold| (float64): below ~1e-6 pixels may flip
  std::int64_t mask_count = 0; // pixels above the threshold
};

// The comparison is made in float64 (upstream compares the float32 map with
// a float64 threshold tensor; thresholds are exact in both).
OtsuResult apply_otsu(const at::Tensor& map, int nbins = 256);

}  // namespace ldmg::grounding
