#include "runner/image_scoring.h"

#include <fmt/ranges.h>

#include "core/check.h"
#include "core/log.h"
#include "data/preprocess.h"
#include "runner/pair_scoring.h"

namespace ldmg::runner {

PairRow base_row(const data::Pair& p) {
  PairRow r;
  r.pair = p.index;
  r.dicom_id = p.dicom_id;
  r.path = p.path;
  r.category = p.category;
  r.prompt = p.prompt;
  return r;
}

ScoredImage score_image_pairs(ModelBundle& models, const std::vector<const data::Pair*>& pairs,
                              const ImageScoringOptions& options, const SinkFactory& sink_factory,
                              const diffusion::ProgressHook& progress) {
  LDMG_CHECK(!pairs.empty(), "score_image_pairs: no pairs");
  const std::size_t n_cfg = options.grounding.configs.size();
  const data::GrayImage img = data::read_image(pairs.front()->image_path);
  for (const auto* p : pairs)
    LDMG_CHECK(img.width == p->csv_width && img.height == p->csv_height,
               "image '{}' is {}x{} but the dataset (rows {}) says {}x{}: the boxes would not match it", p->image_path,
               img.width, img.height, fmt::format("{}", fmt::join(p->rows, ",")), p->csv_width, p->csv_height);
  ScoredImage out;
  out.width = img.width;
  out.height = img.height;
  out.rows.resize(pairs.size());

  std::vector<std::size_t> to_run;  // positions in `pairs`
  std::vector<const data::Pair*> grounded;
  std::vector<data::SurvivedBoxes> survived;
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const data::Pair& p = *pairs[k];
    LDMG_CHECK(p.image_path == pairs.front()->image_path, "score_image_pairs: pair {} is of another image", p.index);
    auto s = data::survive_boxes(p.boxes, p.csv_width, p.csv_height, 512, options.survival);
    if (s.skipped()) {
      PairRow r = base_row(p);
      r.skipped = true;
      out.rows[k].assign(n_cfg, r);
      log::info("pair {} skipped: none of its {} box(es) survives resize + crop", p.index, p.boxes.size());
    } else {
      to_run.push_back(k);
      grounded.push_back(&p);
      survived.push_back(std::move(s));
    }
  }
  if (to_run.empty()) return out;

  std::vector<PromptInput> prompts;
  for (const auto* p : grounded)
    prompts.push_back({p->prompt, options.class_name_override.empty() ? p->category : options.class_name_override});
  diffusion::AttentionSink* extra = sink_factory ? sink_factory(img, grounded) : nullptr;
  const at::Tensor x = data::preprocess_image(img, 512);  // [1,1,512,512]
  const ImageGrounding g =
      ground_image(models, x, prompts, options.grounding, extra, progress, extra ? options.extra_capture : CaptureExtent{});
  out.unet_calls = g.stats.unet_calls;
  for (std::size_t j = 0; j < to_run.size(); ++j) {
    const data::Pair& p = *grounded[j];
    auto& per_cfg = out.rows[to_run[j]];
    for (std::size_t c = 0; c < n_cfg; ++c) {
      const ConfigHeatmap& h = g.prompts[j].per_config[c];
      PairRow r = base_row(p);
      r.metrics = score_heatmap(h.post.final, survived[j].original, img.width, img.height);
      r.metrics.category = p.category;
      r.otsu_threshold = h.post.threshold;
      r.otsu_margin = h.post.otsu_margin;
      per_cfg.push_back(std::move(r));
      out.heatmaps.push_back(PairHeatmap{p.index, static_cast<int>(c), h.post.final, h.post.norm, h.post.threshold,
                                         h.post.otsu_margin, g.prompts[j].ids, h.tokens});
    }
  }
  return out;
}

}  // namespace ldmg::runner
