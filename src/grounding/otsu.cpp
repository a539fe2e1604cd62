#include "grounding/otsu.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/check.h"

namespace ldmg::grounding {

namespace {

// numpy.histogram(a, bins=nbins, range=(min, max)) for uniform bins
// (numpy/lib/histograms.py, the "fast path"): index = (v - first) * norm,
// then corrected against the float edges; v == last goes to the last bin.
std::vector<std::int64_t> numpy_histogram(const float* v, std::int64_t n, int nbins, float first, float last,
                                          std::vector<float>& edges) {
  // np.linspace(first, last, nbins + 1, dtype=float32): computed in double, cast.
  edges.resize(nbins + 1);
  const double step = (static_cast<double>(last) - first) / nbins;
  for (int i = 0; i <= nbins; ++i) edges[i] = static_cast<float>(first + i * step);
  edges[nbins] = last;
  const float norm = static_cast<float>(nbins / (static_cast<double>(last) - first));
  std::vector<std::int64_t> hist(nbins, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    auto idx = static_cast<std::int64_t>((v[i] - first) * norm);
    if (idx == nbins) idx -= 1;
    if (v[i] < edges[idx]) idx -= 1;
    if (idx != nbins - 1 && v[i] >= edges[idx + 1]) idx += 1;
    ++hist[idx];
  }
  return hist;
}

}  // namespace

float otsu_threshold(const at::Tensor& map, int nbins) {
  LDMG_CHECK(nbins >= 2, "Otsu needs at least 2 bins");
  const at::Tensor m = map.to(at::kCPU, at::kFloat).contiguous();
  const float* v = m.data_ptr<float>();
  const std::int64_t n = m.numel();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (n == 0) return nan;
  float lo = v[0], hi = v[0];
  for (std::int64_t i = 0; i < n; ++i) {
    if (std::isnan(v[i])) return nan;
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  if (!(lo < hi)) return nan;  // skimage: "only 1 unique value" -> ValueError

  std::vector<float> edges;
  const std::vector<std::int64_t> hist = numpy_histogram(v, n, nbins, lo, hi, edges);
  // skimage/exposure/exposure.py histogram(normalize=True), then .astype(float32).
  std::vector<float> p(nbins);
  for (int i = 0; i < nbins; ++i) p[i] = static_cast<float>(static_cast<double>(hist[i]) / static_cast<double>(n));

  // skimage/filters/_multiotsu.pyx _set_var_btwcls_lut (float32 throughout).
  std::vector<float> P(nbins), S(nbins);
  P[0] = p[0];
  S[0] = p[0];  // sic: the first moment of bin 0 is 0 * p[0], skimage stores p[0]
  std::vector<float> var0(nbins, 0.f);  // var(0, k); var(0, 0) is never written
  for (int i = 1; i < nbins; ++i) {
    P[i] = P[i - 1] + p[i];
    S[i] = S[i - 1] + static_cast<float>(i) * p[i];
    if (P[i] > 0) var0[i] = (S[i] * S[i]) / P[i];
  }
  auto var_to_end = [&](int i) -> float {  // var(i, nbins - 1), i >= 1
    const float pij = P[nbins - 1] - P[i - 1];
    if (!(pij > 0)) return 0.f;
    const float sij = S[nbins - 1] - S[i - 1];
    return (sij * sij) / pij;
  };
  // _set_thresh_indices_lut with one threshold: first strict maximum over 0.
  float sigma_max = 0.f;
  int best = 0;
  for (int k = 0; k < nbins - 1; ++k) {
    const float sigma = var0[k] + var_to_end(k + 1);
    if (sigma > sigma_max) {
      sigma_max = sigma;
      best = k;
    }
  }
  // bin_centers = (edges[:-1] + edges[1:]) / 2 in float32.
  return (edges[best] + edges[best + 1]) / 2.0f;
}

OtsuResult apply_otsu(const at::Tensor& map, int nbins) {
  OtsuResult r;
  const at::Tensor m = map.to(at::kCPU, at::kFloat).contiguous();
  r.threshold = otsu_threshold(m, nbins);
  if (std::isnan(r.threshold)) {
    r.masked = at::full_like(m, std::numeric_limits<float>::quiet_NaN());
    r.margin = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  r.masked = at::empty_like(m);
  const float* v = m.data_ptr<float>();
  float* out = r.masked.data_ptr<float>();
  const double thr = r.threshold;
  double margin = std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < m.numel(); ++i) {
    const bool above = static_cast<double>(v[i]) > thr;
    out[i] = v[i] * (above ? 1.f : 0.f);
    r.mask_count += above;
    margin = std::min(margin, std::abs(static_cast<double>(v[i]) - thr));
  }
  r.margin = margin;
  return r;
}

}  // namespace ldmg::grounding
