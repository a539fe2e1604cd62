#pragma once
// Per-category and summary statistics as the authors' evaluation prints them
// (upstream official/eval_ldm.py:100-139, QUIRKS.md §8).
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace ldmg::metrics {

enum class Metric { AbsCnr, Cnr, Miou, Auroc, AurocExact };
std::string to_string(Metric m);  // "abs_CNR", "CNR", "mIoU", "AUC_ROC", "AUC_ROC_exact"

// One evaluated image-sentence pair.
struct PairMetrics {
  std::string category;
  double abs_cnr = 0, cnr = 0, miou = 0, auroc = 0;
  double auroc_exact = 0;  // NaN when undefined
  double get(Metric m) const;
};

// numpy's mean (pairwise summation) and population std (ddof 0); NaN when
// empty, as np.mean([]) / np.std([]).
struct MeanStd {
  double mean = 0, std = 0;
};
MeanStd numpy_mean_std(std::span<const double> values);

struct CategoryStats {
  std::string name;
  std::size_t n = 0;
  MeanStd abs_cnr, cnr, miou, auroc, auroc_exact;
  const MeanStd& get(Metric m) const;
};

// One entry per class of `class_order` (all classes of the CSV in order of
// first appearance, empty ones included: mean = std = NaN). A pair whose
// category is not in class_order is an ldmg::Error.
std::vector<CategoryStats> per_category(std::span<const PairMetrics> pairs, std::span<const std::string> class_order);

// The final lines of eval_ldm.py: mean and population std over the
// per-category means. |CNR|, mIoU, AUC-ROC (and our exact AUC): over ALL
// classes, so one empty class makes them NaN. "Avg CNR" (signed): the mean
// skips empty classes, the std does not.
struct Summary {
  MeanStd abs_cnr, cnr, miou, auroc, auroc_exact;
  const MeanStd& get(Metric m) const;
};
Summary summarize(std::span<const CategoryStats> categories);

// The text eval_ldm.py logs at the end (without logging's timestamp
// prefixes), "{:.4f}" formatting, NaN as "nan"; `dataset_len` = len(ds), the
// number of merged pairs including skipped ones.
std::string official_summary_text(std::span<const CategoryStats> categories, std::size_t dataset_len);

}  // namespace ldmg::metrics
