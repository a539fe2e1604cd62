#pragma once
// Seeded percentile-bootstrap confidence intervals for the per-category means
// and their macro average (not in the paper; for comparing runs).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "metrics/aggregate.h"

namespace ldmg::metrics {

struct BootstrapOptions {
  int resamples = 1000;      // B
  std::uint64_t seed = 0;    // std::mt19937_64 seed: same seed + data -> same interval
  double confidence = 0.95;  // two-sided: percentiles (1-c)/2 and (1+c)/2
};

struct Interval {
  double low = 0, high = 0;  // NaN when the category is empty
};

struct BootstrapResult {
  std::vector<Interval> per_category;  // in class_order
  Interval average;                    // of the macro average over non-empty classes
};

// Scheme: in each of B replicates, every non-empty category (in class order)
// draws n_c of its pairs uniformly WITH replacement (stratified: category
// sizes are kept) and takes their mean; the replicate's average is the mean
// of those category means over the non-empty categories. The interval is
// the numpy "linear" percentile of the B replicate values. Draws: indices
// from std::mt19937_64(seed) by rejection sampling (portable, unbiased).
BootstrapResult bootstrap_ci(std::span<const PairMetrics> pairs, std::span<const std::string> class_order, Metric metric,
                             const BootstrapOptions& options = {});

// numpy.percentile(values, q) with the default "linear" method; q in [0, 100].
double percentile_linear(std::vector<double> values, double q);

}  // namespace ldmg::metrics
