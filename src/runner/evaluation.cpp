#include "runner/evaluation.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "data/preprocess.h"
#include "runner/pair_scoring.h"

namespace ldmg::runner {

EvaluationResult run_evaluation(ModelBundle& models, const EvaluateOptions& options,
                                const std::function<void(const PairHeatmap&)>& on_heatmap) {
  const auto t0 = std::chrono::steady_clock::now();
  data::MsCxrOptions dopt;
  dopt.images_root = options.images_root;
  const data::MsCxrDataset ds = data::read_ms_cxr(options.dataset_csv, dopt);
  EvaluationResult result;
  result.class_order = ds.categories();
  if (!options.category.empty())
    LDMG_CHECK(std::find(ds.categories().begin(), ds.categories().end(), options.category) != ds.categories().end(),
               "--category '{}' does not occur in '{}' (categories: {})", options.category, options.dataset_csv,
               fmt::format("{}", fmt::join(ds.categories(), ", ")));

  // The pairs to run, in dataset order.
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

  // One inversion serves every prompt of an image: group by image, keep order.
  std::vector<std::string> image_order;
  std::map<std::string, std::vector<const data::Pair*>> by_image;
  for (const auto* p : selected) {
    if (!by_image.count(p->image_path)) image_order.push_back(p->image_path);
    by_image[p->image_path].push_back(p);
  }
  result.images = image_order.size();

  const std::size_t n_cfg = options.grounding.configs.size();
  std::map<int, std::vector<PairRow>> rows_by_pair;  // pair -> row per config
  auto base_row = [](const data::Pair& p) {
    PairRow r;
    r.pair = p.index;
    r.dicom_id = p.dicom_id;
    r.path = p.path;
    r.category = p.category;
    r.prompt = p.prompt;
    return r;
  };

  Progress progress("evaluate", static_cast<long>(selected.size()));
  long done = 0;
  for (const auto& image_path : image_order) {
    const auto& pairs = by_image[image_path];
    try {
      const data::GrayImage img = data::read_image(image_path);
      std::vector<const data::Pair*> to_run;
      std::vector<data::SurvivedBoxes> survived;
      for (const auto* p : pairs) {
        auto s = data::survive_boxes(p->boxes, p->csv_width, p->csv_height, 512, options.survival);
        if (s.skipped()) {
          PairRow r = base_row(*p);
          r.skipped = true;
          rows_by_pair[p->index] = std::vector<PairRow>(n_cfg, r);
          log::info("pair {} skipped: none of its {} box(es) survives resize + crop", p->index, p->boxes.size());
        } else {
          to_run.push_back(p);
          survived.push_back(std::move(s));
        }
      }
      if (!to_run.empty()) {
        std::vector<PromptInput> prompts;
        for (const auto* p : to_run)
          prompts.push_back({p->prompt, options.class_name_override.empty() ? p->category : options.class_name_override});
        const at::Tensor x = data::preprocess_image(img, 512);  // [1,1,512,512]
        const ImageGrounding g = ground_image(models, x, prompts, options.grounding);
        result.unet_calls += g.stats.unet_calls;
        for (std::size_t k = 0; k < to_run.size(); ++k) {
          const data::Pair& p = *to_run[k];
          std::vector<PairRow> per_cfg;
          for (std::size_t c = 0; c < n_cfg; ++c) {
            const ConfigHeatmap& h = g.prompts[k].per_config[c];
            PairRow r = base_row(p);
            r.metrics = score_heatmap(h.post.final, survived[k].original, img.width, img.height);
            r.metrics.category = p.category;
            r.otsu_threshold = h.post.threshold;
            r.otsu_margin = h.post.otsu_margin;
            per_cfg.push_back(std::move(r));
            if (on_heatmap)
              on_heatmap(PairHeatmap{p.index, static_cast<int>(c), h.post.final, h.post.norm, h.post.threshold,
                                     h.post.otsu_margin, g.prompts[k].ids, h.tokens});
          }
          rows_by_pair[p.index] = std::move(per_cfg);
        }
      }
    } catch (const Error& e) {
      if (options.fail_fast) throw;
      log::error("image '{}' failed ({} pair(s) recorded as failed): {}", image_path, pairs.size(), e.what());
      for (const auto* p : pairs) {
        PairRow r = base_row(*p);
        r.error = e.what();
        rows_by_pair[p->index] = std::vector<PairRow>(n_cfg, r);
      }
    }
    done += static_cast<long>(pairs.size());
    progress.update(done);
  }
  progress.finish();

  result.rows.assign(n_cfg, {});
  for (const auto* p : selected)
    for (std::size_t c = 0; c < n_cfg; ++c) result.rows[c].push_back(rows_by_pair.at(p->index)[c]);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace ldmg::runner
