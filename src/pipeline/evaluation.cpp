#include "pipeline/evaluation.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "data/ms_cxr.h"
#include "pipeline/image_scoring.h"

namespace ldmg::pipeline {

std::vector<const data::Pair*> select_pairs(const data::MsCxrDataset& ds, const EvaluateOptions& options) {
  if (!options.category.empty())
    LDMG_CHECK(std::find(ds.categories().begin(), ds.categories().end(), options.category) != ds.categories().end(),
               "--category '{}' does not occur in '{}' (categories: {})", options.category, options.dataset_csv,
               fmt::format("{}", fmt::join(ds.categories(), ", ")));
  std::vector<const data::Pair*> selected;
  for (const auto& p : ds.pairs()) {
    if (!options.category.empty() && p.category != options.category) continue;
    if (!options.only_pairs.empty() &&
        std::find(options.only_pairs.begin(), options.only_pairs.end(), p.index) == options.only_pairs.end())
      continue;
    if (options.limit >= 0 && static_cast<int>(selected.size()) >= options.limit) break;
    selected.push_back(&p);
  }
  LDMG_CHECK(!selected.empty(), "no pairs selected from '{}' (check --category / --limit)", options.dataset_csv);
  return selected;
}

EvaluationResult run_evaluation(ModelBundle& models, const EvaluateOptions& options,
                                const std::function<void(const PairHeatmap&)>& on_heatmap) {
  data::MsCxrOptions dopt;
  dopt.images_root = options.images_root;
  return run_evaluation(models, data::read_ms_cxr(options.dataset_csv, dopt), options, on_heatmap);
}

EvaluationResult run_evaluation(ModelBundle& models, const data::MsCxrDataset& ds, const EvaluateOptions& options,
                                const std::function<void(const PairHeatmap&)>& on_heatmap) {
  const auto t0 = std::chrono::steady_clock::now();
  EvaluationResult result;
  result.class_order = ds.categories();
  // The pairs to run, in dataset order.
  const std::vector<const data::Pair*> selected = select_pairs(ds, options);

  // One inversion serves every prompt of an image: group by image, keep order.
  std::vector<std::string> image_order;
  std::map<std::string, std::vector<const data::Pair*>> by_image;
  for (const auto* p : selected) {
    if (!by_image.count(p->image_path)) image_order.push_back(p->image_path);
    by_image[p->image_path].push_back(p);
  }
  result.images = image_order.size();

  const std::size_t n_cfg = options.grounding.configs.size();
  ImageScoringOptions so;
  so.grounding = options.grounding;
  so.survival = options.survival;
  so.class_name_override = options.class_name_override;
  so.image.dicom = options.dicom_conversion;
  std::map<int, std::vector<PairRow>> rows_by_pair;  // pair -> row per config

  Progress progress("evaluate", static_cast<long>(selected.size()));
  long done = 0;
  const std::size_t batch = static_cast<std::size_t>(std::max(1, options.batch_images));
  for (std::size_t first = 0; first < image_order.size(); first += batch) {
    std::vector<ImageTask> tasks;
    for (std::size_t i = first; i < std::min(first + batch, image_order.size()); ++i)
      tasks.push_back({by_image[image_order[i]], {}, {}});
    result.unet_calls += score_images(models, tasks, so, [&](std::size_t k, ImageOutcome&& o) {
      const auto& pairs = tasks[k].pairs;
      if (o.error.empty()) {
        result.dicom_images += o.scored.dicom;
        for (std::size_t j = 0; j < pairs.size(); ++j) rows_by_pair[pairs[j]->index] = std::move(o.scored.rows[j]);
        if (on_heatmap)
          for (const auto& h : o.scored.heatmaps) on_heatmap(h);
      } else {
        if (options.fail_fast) throw Error(o.error);
        log::error("image '{}' failed ({} pair(s) recorded as failed): {}", pairs.front()->image_path, pairs.size(),
                   o.error);
        for (const auto* p : pairs) {
          PairRow r = base_row(*p);
          r.error = o.error;
          rows_by_pair[p->index] = std::vector<PairRow>(n_cfg, r);
        }
      }
      done += static_cast<long>(pairs.size());
      progress.update(done);
    });
  }
  progress.finish();

  result.rows.assign(n_cfg, {});
  for (const auto* p : selected)
    for (std::size_t c = 0; c < n_cfg; ++c) result.rows[c].push_back(rows_by_pair.at(p->index)[c]);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace ldmg::pipeline
