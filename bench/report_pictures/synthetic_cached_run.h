#pragma once
// A sweep run folder with an attention cache, written without a model by the
// sweep's own writers (plan, unit results, ledger, AttentionCacheWriter), for
// what the report draws from it (write_report_images): the picture-drawing
// benchmark (bench/report_pictures) and the report's thread tests. Each unit
// is one synthetic gray X-ray (PNG) with `prompts` pairs; the cached maps are
// smooth blobs near each pair's box, for the real model's 11 attn2 layers
// (5 of 32x32, 6 of 16x16; docs/cache-format.md) or smaller ones, over the
// paper's step window of T.
#include <string>
#include <vector>

namespace ldmg::bench {

struct CachedRunOptions {
  int units = 4;         // images = work units
  int prompts = 2;       // pairs per image
  int T = 10;            // inversion steps; the cache holds the paper window of T
  int image_width = 96;  // the X-rays' size, pixels
  int image_height = 80;
  int map_scale = 1;  // attn2 maps are 2x2 (16x16 layers) and 4x4 (32x32) times this; 8 = the real model
  // Extra heatmap configs of job.ini (`config = ...`), beside the default
  // (layers 3,4,6,7, paper window, Otsu).
  std::vector<std::string> extra_configs = {"layers=all;window=paper;otsu=off"};
  std::vector<int> unit_missing_image;  // units whose image file is not written (a moved image)
  std::vector<int> unit_without_cache;  // finished units without a cache file
};

struct CachedRun {
  std::string run_dir;      // <dir>/run
  std::string images_root;  // <dir>/images
  int pairs = 0;
};

// Writes the dataset and the run into `dir` (created; must not hold a run).
CachedRun write_cached_run(const std::string& dir, const CachedRunOptions& options = {});

}  // namespace ldmg::bench
