#include "grounding/gaussian_filter.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/check.h"

namespace ldmg::grounding {

std::vector<double> gaussian_kernel1d(double sigma, double truncate) {
  LDMG_CHECK(sigma > 0 && truncate > 0, "gaussian filter needs sigma > 0 and truncate > 0, got {} and {}", sigma,
             truncate);
  const int radius = static_cast<int>(truncate * sigma + 0.5);  // scipy/ndimage/_filters.py gaussian_filter1d
  std::vector<double> w(2 * radius + 1);
  const double a = -0.5 / (sigma * sigma);
  for (int x = -radius; x <= radius; ++x) w[x + radius] = std::exp(a * static_cast<double>(x * x));
  // phi_x / phi_x.sum(): numpy's pairwise sum (8 partial sums below 128 elements).
  double sum = 0;
  const std::size_t n = w.size();
  if (n < 8) {
    for (double v : w) sum += v;
  } else {
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = w[k];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int k = 0; k < 8; ++k) r[k] += w[i + k];
    sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += w[i];
  }
  // (Above 128 taps, sigma > 16, numpy recurses pairwise; we do not, a 1e-16 effect.)
  for (double& v : w) v /= sum;
  return w;
}

namespace {

// Index of position i (may lie outside 0..n-1) under mode "reflect".
std::int64_t reflect_index(std::int64_t i, std::int64_t n) {
  if (n == 1) return 0;
  const std::int64_t period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

// One 1-D correlation pass along lines of length n, `lines` of them, element
// stride `step` along the line and `line_stride` between lines. Like scipy's
// NI_Correlate1D for a symmetric kernel: w0 x[i] + sum_j w_j (x[i-j] + x[i+j]),
// outer pairs first (j = radius .. 1), in double; the result is stored as float32.
void correlate_pass(const float* in, float* out, std::int64_t n, std::int64_t lines, std::int64_t step,
                    std::int64_t line_stride, const std::vector<double>& w) {
  const std::int64_t radius = static_cast<std::int64_t>(w.size() / 2);
  std::vector<double> buf(n + 2 * radius);
  for (std::int64_t l = 0; l < lines; ++l) {
    const float* src = in + l * line_stride;
    for (std::int64_t k = 0; k < n + 2 * radius; ++k)
      buf[k] = static_cast<double>(src[reflect_index(k - radius, n) * step]);
    float* dst = out + l * line_stride;
    for (std::int64_t i = 0; i < n; ++i) {
      const double* c = buf.data() + i + radius;
      double acc = c[0] * w[radius];
      for (std::int64_t j = radius; j >= 1; --j) acc += (c[-j] + c[j]) * w[radius - j];
      dst[i * step] = static_cast<float>(acc);
    }
  }
}

}  // namespace

at::Tensor gaussian_filter(const at::Tensor& map, double sigma, double truncate) {
  LDMG_CHECK(map.dim() == 2, "gaussian_filter expects a 2-D map");
  const std::vector<double> w = gaussian_kernel1d(sigma, truncate);
  const at::Tensor in = map.to(at::kCPU, at::kFloat).contiguous();
  const std::int64_t h = in.size(0), wd = in.size(1);
  at::Tensor tmp = at::empty_like(in);
  at::Tensor out = at::empty_like(in);
  // axis 0 (columns: stride wd along the line, lines are adjacent), then axis 1.
  correlate_pass(in.data_ptr<float>(), tmp.data_ptr<float>(), h, wd, wd, 1, w);
  correlate_pass(tmp.data_ptr<float>(), out.data_ptr<float>(), wd, h, 1, wd, w);
  return out;
}

}  // namespace ldmg::grounding
