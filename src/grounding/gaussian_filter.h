#pragma once
// scipy.ndimage.gaussian_filter(map, sigma, order=0, mode="reflect",
// truncate=4.0) on a 2-D float32 map (upstream official/sampler.py:67;
// QUIRKS.md §5): separable, axis 0 then axis 1, each pass accumulating in
// double and storing float32, the kernel normalised in double.
#include <ATen/core/Tensor.h>

#include <vector>

namespace ldmg::grounding {

// scipy's _gaussian_kernel1d: radius = int(truncate * sigma + 0.5),
// w[x] = exp(-0.5 x^2 / sigma^2) / sum, x = -radius..radius.
std::vector<double> gaussian_kernel1d(double sigma, double truncate = 4.0);

// [H, W] (any device) -> [H, W] float32 on the CPU. mode "reflect": d c b a | a b c d | d c b a.
at::Tensor gaussian_filter(const at::Tensor& map, double sigma = 2.5, double truncate = 4.0);

}  // namespace ldmg::grounding
