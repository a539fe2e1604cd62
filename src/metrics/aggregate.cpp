#include "metrics/aggregate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"

namespace ldmg::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src) for doubles.
double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = a[k];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int k = 0; k < 8; ++k) r[k] += a[i + k];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

}  // namespace

std::string to_string(Metric m) {
  switch (m) {
    case Metric::AbsCnr: return "abs_CNR";
    case Metric::Cnr: return "CNR";
    case Metric::Miou: return "mIoU";
    case Metric::Auroc: return "AUC_ROC";
    case Metric::AurocExact: return "AUC_ROC_exact";
  }
  return "?";
}

double PairMetrics::get(Metric m) const {
  switch (m) {
    case Metric::AbsCnr: return abs_cnr;
    case Metric::Cnr: return cnr;
    case Metric::Miou: return miou;
    case Metric::Auroc: return auroc;
    case Metric::AurocExact: return auroc_exact;
  }
  LDMG_ASSERT(false, "unknown metric");
  return kNaN;
}

namespace {
// CategoryStats and Summary hold the same five MeanStd fields.
template <typename Stats>
const MeanStd& mean_std_of(const Stats& s, Metric m) {
  switch (m) {
    case Metric::AbsCnr: return s.abs_cnr;
    case Metric::Cnr: return s.cnr;
    case Metric::Miou: return s.miou;
    case Metric::Auroc: return s.auroc;
    case Metric::AurocExact: return s.auroc_exact;
  }
  LDMG_ASSERT(false, "unknown metric");
  return s.abs_cnr;
}
}  // namespace

const MeanStd& CategoryStats::get(Metric m) const { return mean_std_of(*this, m); }
const MeanStd& Summary::get(Metric m) const { return mean_std_of(*this, m); }

// np.mean(x) = pairwise_sum / n; np.std(x) = sqrt(mean(|x - mean|^2)).
MeanStd numpy_mean_std(std::span<const double> v) {
  if (v.empty()) return {kNaN, kNaN};
  const double n = static_cast<double>(v.size());
  const double mean = pairwise_sum(v.data(), v.size()) / n;
  std::vector<double> sq(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) sq[i] = (v[i] - mean) * (v[i] - mean);
  return {mean, std::sqrt(pairwise_sum(sq.data(), sq.size()) / n)};
}

std::vector<CategoryStats> per_category(std::span<const PairMetrics> pairs, std::span<const std::string> class_order) {
  const Metric all[] = {Metric::AbsCnr, Metric::Cnr, Metric::Miou, Metric::Auroc, Metric::AurocExact};
  for (const PairMetrics& p : pairs)
    LDMG_CHECK(std::find(class_order.begin(), class_order.end(), p.category) != class_order.end(),
               "pair category '{}' is not among the dataset's {} classes", p.category, class_order.size());
  std::vector<CategoryStats> out;
  for (const std::string& name : class_order) {
    CategoryStats c;
    c.name = name;
    std::vector<double> vals[5];
    for (const PairMetrics& p : pairs) {
      if (p.category != name) continue;
      ++c.n;
      for (int k = 0; k < 5; ++k) vals[k].push_back(p.get(all[k]));
    }
    c.abs_cnr = numpy_mean_std(vals[0]);
    c.cnr = numpy_mean_std(vals[1]);
    c.miou = numpy_mean_std(vals[2]);
    c.auroc = numpy_mean_std(vals[3]);
    c.auroc_exact = numpy_mean_std(vals[4]);
    out.push_back(std::move(c));
  }
  return out;
}

Summary summarize(std::span<const CategoryStats> cats) {
  auto over_all = [&](Metric m) {
    std::vector<double> means;
    for (const CategoryStats& c : cats) means.push_back(c.get(m).mean);
    return numpy_mean_std(means);
  };
  Summary s;
  s.abs_cnr = over_all(Metric::AbsCnr);
  s.miou = over_all(Metric::Miou);
  s.auroc = over_all(Metric::Auroc);
  s.auroc_exact = over_all(Metric::AurocExact);
  // eval_ldm.py "Avg CNR": mean over non-empty classes, std over all of them.
  std::vector<double> nonempty;
  for (const CategoryStats& c : cats)
    if (c.n > 0) nonempty.push_back(c.cnr.mean);
  s.cnr = {numpy_mean_std(nonempty).mean, over_all(Metric::Cnr).std};
  return s;
}

std::string official_summary_text(std::span<const CategoryStats> cats, std::size_t dataset_len) {
  const Summary s = summarize(cats);
  std::string out = fmt::format(
      "MS-CXR results (len={})\n|CNR|: {:.4f} +- {:.4f}\nmIoU: {:.4f} +- {:.4f}\nAUC-ROC: {:.4f} +- {:.4f}\n"
      "Avg CNR: {:.4f} +- {:.4f}\n",
      dataset_len, s.abs_cnr.mean, s.abs_cnr.std, s.miou.mean, s.miou.std, s.auroc.mean, s.auroc.std, s.cnr.mean,
      s.cnr.std);
  const std::pair<const char*, Metric> blocks[] = {{"CNR", Metric::AbsCnr},
                                                   {"mIoU", Metric::Miou},
                                                   {"Non-absolute CNR", Metric::Cnr},
                                                   {"AUC-ROC", Metric::Auroc}};
  for (const auto& [title, m] : blocks) {
    out += fmt::format("******{} results******\n", title);
    for (const CategoryStats& c : cats) out += fmt::format("{}: {:.4f} +- {:.4f}\n", c.name, c.get(m).mean, c.get(m).std);
  }
  return out;
}

}  // namespace ldmg::metrics
