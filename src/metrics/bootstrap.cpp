#include "metrics/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/check.h"

namespace ldmg::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Uniform integer in [0, n) without modulo bias; portable across standard
// libraries (std::uniform_int_distribution is implementation-defined).
std::uint64_t draw_index(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}

}  // namespace

double percentile_linear(std::vector<double> v, double q) {
  if (v.empty() || std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); })) return kNaN;
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

BootstrapResult bootstrap_ci(std::span<const PairMetrics> pairs, std::span<const std::string> class_order, Metric metric,
                             const BootstrapOptions& opt) {
  LDMG_CHECK(opt.resamples >= 1, "bootstrap needs at least one resample, got {}", opt.resamples);
  LDMG_CHECK(opt.confidence > 0 && opt.confidence < 1, "confidence must be in (0, 1), got {}", opt.confidence);
  std::vector<std::vector<double>> values(class_order.size());
  for (const PairMetrics& p : pairs) {
    const auto it = std::find(class_order.begin(), class_order.end(), p.category);
    LDMG_CHECK(it != class_order.end(), "pair category '{}' is not among the dataset's classes", p.category);
    values[static_cast<std::size_t>(it - class_order.begin())].push_back(p.get(metric));
  }
  std::mt19937_64 rng(opt.seed);
  std::vector<std::vector<double>> cat_reps(class_order.size());
  std::vector<double> avg_reps;
  for (int b = 0; b < opt.resamples; ++b) {
    double sum = 0;
    int nonempty = 0;
    for (std::size_t c = 0; c < values.size(); ++c) {
      const std::vector<double>& v = values[c];
      if (v.empty()) continue;
      double s = 0;
      for (std::size_t k = 0; k < v.size(); ++k) s += v[draw_index(rng, v.size())];
      const double mean = s / static_cast<double>(v.size());
      cat_reps[c].push_back(mean);
      sum += mean;
      ++nonempty;
    }
    avg_reps.push_back(nonempty > 0 ? sum / nonempty : kNaN);
  }
  const double lo_q = 50.0 * (1.0 - opt.confidence), hi_q = 100.0 - lo_q;
  BootstrapResult r;
  for (const auto& reps : cat_reps) r.per_category.push_back({percentile_linear(reps, lo_q), percentile_linear(reps, hi_q)});
  r.average = {percentile_linear(avg_reps, lo_q), percentile_linear(avg_reps, hi_q)};
  return r;
}

}  // namespace ldmg::metrics
