#include "pipeline/image_scoring.h"

#include <fmt/ranges.h>

#include "core/check.h"
#include "core/log.h"
#include "data/preprocess.h"
#include "pipeline/pair_scoring.h"

namespace ldmg::pipeline {

PairRow base_row(const data::Pair& p) {
  PairRow r;
  r.pair = p.index;
  r.dicom_id = p.dicom_id;
  r.path = p.path;
  r.category = p.category;
  r.prompt = p.prompt;
  return r;
}

data::GrayImage read_checked_image(const std::vector<const data::Pair*>& pairs, const data::ImageOptions& options) {
  LDMG_CHECK(!pairs.empty(), "read_checked_image: no pairs");
  data::GrayImage img = data::read_image(pairs.front()->image_path, options);
  for (const auto* p : pairs)
    LDMG_CHECK(img.width == p->csv_width && img.height == p->csv_height,
               "image '{}' is {}x{} but the dataset (rows {}) says {}x{}: the boxes would not match it", p->image_path,
               img.width, img.height, fmt::format("{}", fmt::join(p->rows, ",")), p->csv_width, p->csv_height);
  return img;
}

namespace {

// One image read and checked, its pairs split into skipped (rows filled) and
// grounded (rows filled by score_grounded once the image is grounded).
struct ImagePlan {
  data::GrayImage img;
  ScoredImage out;
  std::vector<std::size_t> to_run;  // positions in `pairs`
  std::vector<const data::Pair*> grounded;
  std::vector<data::SurvivedBoxes> survived;
  std::vector<PromptInput> prompts;
};

ImagePlan plan_image(const std::vector<const data::Pair*>& pairs, const ImageScoringOptions& options) {
  LDMG_CHECK(!pairs.empty(), "score_image_pairs: no pairs");
  const std::size_t n_cfg = options.grounding.configs.size();
  ImagePlan ip;
  ip.img = read_checked_image(pairs, options.image);
  const data::GrayImage& img = ip.img;
  ScoredImage& out = ip.out;
  out.width = img.width;
  out.height = img.height;
  out.dicom = img.format == data::ImageFormat::dicom;
  out.rows.resize(pairs.size());

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
      ip.to_run.push_back(k);
      ip.grounded.push_back(&p);
      ip.survived.push_back(std::move(s));
    }
  }
  for (const auto* p : ip.grounded)
    ip.prompts.push_back({p->prompt, options.class_name_override.empty() ? p->category : options.class_name_override});
  return ip;
}

// The rows and heatmaps of the grounded pairs, scored at the original size.
void score_grounded(ImagePlan& ip, const ImageGrounding& g, const ImageScoringOptions& options) {
  const std::size_t n_cfg = options.grounding.configs.size();
  ScoredImage& out = ip.out;
  out.unet_calls = g.stats.unet_calls;
  for (std::size_t j = 0; j < ip.to_run.size(); ++j) {
    const data::Pair& p = *ip.grounded[j];
    auto& per_cfg = out.rows[ip.to_run[j]];
    for (std::size_t c = 0; c < n_cfg; ++c) {
      const ConfigHeatmap& h = g.prompts[j].per_config[c];
      PairRow r = base_row(p);
      r.metrics = score_heatmap(h.post.final, ip.survived[j].original, ip.img.width, ip.img.height);
      r.metrics.category = p.category;
      r.otsu_threshold = h.post.threshold;
      r.otsu_margin = h.post.otsu_margin;
      per_cfg.push_back(std::move(r));
      out.heatmaps.push_back(PairHeatmap{p.index, static_cast<int>(c), h.post.final, h.post.norm, h.post.threshold,
                                         h.post.otsu_margin, g.prompts[j].ids, h.tokens});
    }
  }
}

// score_image_pairs on an image already planned.
ScoredImage score_planned(ModelBundle& models, ImagePlan& ip, const ImageScoringOptions& options,
                          const SinkFactory& sink_factory, const diffusion::ProgressHook& progress) {
  if (ip.to_run.empty()) return std::move(ip.out);
  diffusion::AttentionSink* extra = sink_factory ? sink_factory(ip.img, ip.grounded) : nullptr;
  const at::Tensor x = data::preprocess_image(ip.img, 512);  // [1,1,512,512]
  const ImageGrounding g = ground_image(models, x, ip.prompts, options.grounding, extra, progress,
                                        extra ? options.extra_capture : CaptureExtent{});
  score_grounded(ip, g, options);
  return std::move(ip.out);
}

// A task's outcome: scored, or the error that failed it.
template <class Fn>
ImageOutcome outcome_of(Fn&& fn) {
  ImageOutcome o;
  try {
    o.scored = fn();
  } catch (const Interrupted&) {  // a stop request is not a failure of the image
    throw;
  } catch (const std::exception& e) {  // ldmg::Error, or LibTorch's c10::Error
    o.error = e.what();
  }
  return o;
}

}  // namespace

ScoredImage score_image_pairs(ModelBundle& models, const std::vector<const data::Pair*>& pairs,
                              const ImageScoringOptions& options, const SinkFactory& sink_factory,
                              const diffusion::ProgressHook& progress) {
  ImagePlan ip = plan_image(pairs, options);
  return score_planned(models, ip, options, sink_factory, progress);
}

long score_images(ModelBundle& models, const std::vector<ImageTask>& tasks, const ImageScoringOptions& options,
                  const OutcomeHook& on_outcome) {
  long calls = 0;
  if (tasks.size() < 2 || options.grounding.mode != diffusion::InversionMode::fast) {
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      ImageOutcome o = outcome_of(
          [&] { return score_image_pairs(models, tasks[k].pairs, options, tasks[k].sink_factory, tasks[k].progress); });
      calls += o.scored.unet_calls;
      on_outcome(k, std::move(o));
    }
    return calls;
  }

  // Read and check every image first: a bad one fails alone, before the batch.
  std::vector<ImagePlan> plans(tasks.size());
  std::vector<std::size_t> batch;  // task indices with something to invert
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    ImageOutcome o = outcome_of([&] {
      plans[k] = plan_image(tasks[k].pairs, options);
      return ScoredImage{};
    });
    if (!o.error.empty())
      on_outcome(k, std::move(o));
    else if (plans[k].to_run.empty())
      on_outcome(k, ImageOutcome{std::move(plans[k].out), {}});  // every pair skipped
    else
      batch.push_back(k);
  }

  // One batched inversion; if it fails, every image again on its own, so
  // that whatever failed fails only its own image.
  std::vector<ImageOutcome> done(tasks.size());
  bool batched = false;
  if (batch.size() >= 2) {
    try {
      std::vector<ImageInput> inputs;
      for (std::size_t k : batch) {
        const ImagePlan& ip = plans[k];
        diffusion::AttentionSink* extra = tasks[k].sink_factory ? tasks[k].sink_factory(ip.img, ip.grounded) : nullptr;
        inputs.push_back({data::preprocess_image(ip.img, 512), ip.prompts, extra, tasks[k].progress});
      }
      const BatchGrounding g = ground_images(models, inputs, options.grounding, options.extra_capture);
      calls += g.stats.unet_calls;
      for (std::size_t j = 0; j < batch.size(); ++j) {
        const std::size_t k = batch[j];
        done[k] = outcome_of([&] {
          score_grounded(plans[k], g.images[j], options);
          return std::move(plans[k].out);
        });
      }
      batched = true;
    } catch (const Interrupted&) {
      throw;
    } catch (const std::exception& e) {
      log::warn("a batch of {} images failed ({}); running them one at a time", batch.size(), e.what());
    }
  }
  for (std::size_t k : batch) {
    if (!batched) {  // the sink factory is called again: its new sink replaces the batch's
      done[k] = outcome_of(
          [&] { return score_planned(models, plans[k], options, tasks[k].sink_factory, tasks[k].progress); });
      calls += done[k].scored.unet_calls;
    }
    on_outcome(k, std::move(done[k]));
  }
  return calls;
}

}  // namespace ldmg::pipeline
