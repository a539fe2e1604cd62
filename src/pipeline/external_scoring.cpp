#include "pipeline/external_scoring.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/check.h"
#include "core/log.h"
#include "data/image.h"
#include "grounding/otsu.h"
#include "pipeline/evaluation.h"
#include "pipeline/image_scoring.h"
#include "pipeline/pair_scoring.h"

namespace ldmg::pipeline {

BoxMap parse_box_map(const std::string& name) {
  LDMG_CHECK(name == "max",
             "--box-map '{}': expected max (each pixel takes the highest score of the boxes covering it)", name);
  return BoxMap::max;
}

const char* to_string(BoxMap) { return "max"; }

namespace {

constexpr int kGrid = 512;  // our heatmaps' grid (SPEC §2: resize + center crop to 512)

// The pixels [first, last) whose centres i + 0.5 lie in [lo, lo + len), clipped to [0, n).
std::pair<std::int64_t, std::int64_t> covered(double lo, double len, std::int64_t n) {
  const auto first = static_cast<std::int64_t>(std::ceil(lo - 0.5));
  const auto last = static_cast<std::int64_t>(std::ceil(lo + len - 0.5));
  return {std::clamp<std::int64_t>(first, 0, n), std::clamp<std::int64_t>(last, 0, n)};
}

}  // namespace

at::Tensor prediction_map(const Prediction& p, int width, int height, BoxMap) {
  if (!p.is_boxes()) {
    at::Tensor m = at::empty({p.height, p.width}, at::kFloat);
    std::copy(p.values.begin(), p.values.end(), m.data_ptr<float>());
    return m;
  }
  // BoxMap::max: 0 outside every box, else the highest covering score.
  at::Tensor m = at::zeros({height, width}, at::kFloat);
  std::vector<std::uint8_t> hit(static_cast<std::size_t>(height) * width, 0);
  float* v = m.data_ptr<float>();
  for (const auto& b : p.boxes) {
    const auto [x0, x1] = covered(b.x, b.w, width);
    const auto [y0, y1] = covered(b.y, b.h, height);
    const auto s = static_cast<float>(b.score);
    for (std::int64_t y = y0; y < y1; ++y)
      for (std::int64_t x = x0; x < x1; ++x) {
        const std::int64_t i = y * width + x;
        v[i] = hit[i] ? std::max(v[i], s) : s;
        hit[i] = 1;
      }
  }
  return m;
}

at::Tensor apply_conventions(const at::Tensor& map, const ScoringConventions& c) {
  at::Tensor m = map.to(at::kCPU, at::kFloat).contiguous().clone();
  float* v = m.data_ptr<float>();
  const std::int64_t n = m.numel();
  if (c.clamp_negative)
    for (std::int64_t i = 0; i < n; ++i)
      if (v[i] < 0.f) v[i] = 0.f;  // torch.clamp(min=0): NaN stays NaN
  if (!c.otsu) return m;
  std::vector<float> finite;
  finite.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isnan(v[i])) finite.push_back(v[i]);
  // No NaN: exactly our pipeline's step (grounding::postprocess_heatmap).
  if (static_cast<std::int64_t>(finite.size()) == n) return grounding::apply_otsu(m).masked;
  // NaN pixels (e.g. hi-ml's padding) take no part in the histogram and stay NaN.
  const at::Tensor f = at::from_blob(finite.data(), {static_cast<std::int64_t>(finite.size())}, at::kFloat);
  const float thr = grounding::otsu_threshold(f);
  for (std::int64_t i = 0; i < n; ++i) {
    if (std::isnan(thr))
      v[i] = std::numeric_limits<float>::quiet_NaN();
    else if (!std::isnan(v[i]))
      v[i] = v[i] * (static_cast<double>(v[i]) > static_cast<double>(thr) ? 1.f : 0.f);
  }
  return m;
}

metrics::PairMetrics score_prediction(const Prediction& p, const std::vector<data::Box>& boxes, int width, int height,
                                      const ScoringConventions& c, const std::string& image_path) {
  LDMG_CHECK(!(c.otsu && p.thresholded),
             "{}: this heatmap_512 is a final heatmap of `evaluate --save-heatmaps`, already Otsu-thresholded "
             "(otsu_threshold attribute); score it with --otsu off, or Otsu would be applied twice",
             p.origin);
  const bool on_grid = !p.is_boxes() && p.height == kGrid && p.width == kGrid;
  const bool original = p.is_boxes() || (p.height == height && p.width == width);
  LDMG_CHECK(on_grid || original,
             "{}: shape {}x{} (rows x columns), expected 512x512 (the 512 grid) or {}x{} (the size of image '{}')",
             p.origin, p.height, p.width, height, width, image_path);
  const at::Tensor map = apply_conventions(prediction_map(p, width, height, c.box_map), c);
  // The 512 grid goes through evaluate's own call: back-mapping + metrics.
  if (on_grid) return score_heatmap(map, boxes, width, height);
  return score_original_size_map(map, boxes);
}

std::vector<PairRow> score_external(const data::MsCxrDataset& ds, const PredictionReader& predictions,
                                    const ExternalScoringOptions& options) {
  EvaluateOptions sel;
  sel.dataset_csv = options.dataset_csv.empty() ? ds.source() : options.dataset_csv;
  sel.limit = options.limit;
  sel.category = options.category;
  const std::vector<const data::Pair*> selected = select_pairs(ds, sel);

  // As evaluate (read_checked_image): an image is read once for all
  // its selected pairs; a read failure or a size that differs from the CSV's
  // fails every one of them.
  struct ImageCheck {
    int width = 0, height = 0;
    std::string error;
  };
  std::map<std::string, std::vector<const data::Pair*>> by_image;
  for (const auto* p : selected) by_image[p->image_path].push_back(p);
  std::map<std::string, ImageCheck> images;
  auto image_of = [&](const data::Pair& p) -> const ImageCheck& {
    auto it = images.find(p.image_path);
    if (it != images.end()) return it->second;
    ImageCheck c;
    try {
      const data::GrayImage img = read_checked_image(by_image.at(p.image_path));
      c.width = img.width;
      c.height = img.height;
    } catch (const Interrupted&) {
      throw;
    } catch (const std::exception& e) {
      if (options.fail_fast) throw;
      c.error = e.what();
      log::error("image '{}' failed ({} pair(s) recorded as failed): {}", p.image_path,
                 by_image.at(p.image_path).size(), c.error);
    }
    return images.emplace(p.image_path, std::move(c)).first->second;
  };

  // Predictions are read in dataset order (HDF5 is not for several threads),
  // a few at a time, and scored in parallel (the exact AUC sorts every pixel
  // of the original-size map); each row depends on its pair only, so the
  // results do not depend on the thread count.
  struct Job {
    std::size_t row;
    Prediction prediction;
    std::vector<data::Box> boxes;
    int width, height;
    std::string image_path;
  };
  std::vector<Job> jobs;
  std::vector<PairRow> rows;
  const std::size_t chunk = 2 * static_cast<std::size_t>(std::max(1, at::get_num_threads()));
  auto score_jobs = [&] {
    at::parallel_for(0, static_cast<std::int64_t>(jobs.size()), 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const Job& j = jobs[i];
        rows[j.row].metrics =
            score_prediction(j.prediction, j.boxes, j.width, j.height, options.conventions, j.image_path);
        rows[j.row].metrics.category = rows[j.row].category;
      }
    });
    jobs.clear();
  };
  for (const auto* p : selected) {
    PairRow r = base_row(*p);
    const ImageCheck& img = image_of(*p);
    if (!img.error.empty()) {
      r.error = img.error;
    } else {
      auto s = data::survive_boxes(p->boxes, p->csv_width, p->csv_height, kGrid, options.survival);
      if (s.skipped())
        r.skipped = true;
      else
        jobs.push_back(
            {rows.size(), predictions.read(p->index), std::move(s.original), img.width, img.height, p->image_path});
    }
    rows.push_back(std::move(r));
    if (jobs.size() >= chunk) score_jobs();
  }
  score_jobs();
  return rows;
}

}  // namespace ldmg::pipeline
