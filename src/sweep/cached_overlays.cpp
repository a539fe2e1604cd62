#include "sweep/cached_overlays.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "cache/cache_manifest.h"
#include "cache/cached_heatmap.h"
#include "core/check.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "grounding/back_to_original.h"
#include "viz/overlay.h"

namespace ldmg::sweep {

std::vector<std::string> write_cached_overlays(const OverlayRequest& rq, const text::ClipTokenizer& tokenizer) {
  const std::string manifest_path = rq.run_dir + "/cache/manifest.json";
  LDMG_CHECK(std::filesystem::exists(manifest_path), "'{}' has no cache index ({}): was the sweep run with --cache none, "
             "or is it unfinished?", rq.run_dir, manifest_path);
  const cache::CacheManifest manifest = cache::read_cache_manifest(manifest_path);
  int T = rq.T;
  if (T < 0) {
    LDMG_CHECK(!manifest.units.empty(), "{}: no cached units", manifest_path);
    T = manifest.units.front().T;
  }
  struct Where { std::string file; int prompt; };
  std::vector<std::pair<int, Where>> wanted;  // pair -> location, in the order to draw
  for (const cache::CacheManifestUnit& u : manifest.units) {
    if (u.T != T) continue;
    for (const cache::CacheManifestPair& p : u.pairs) {
      const bool take = rq.pairs.empty() ? static_cast<int>(wanted.size()) < rq.max_pairs
                                         : std::find(rq.pairs.begin(), rq.pairs.end(), p.pair) != rq.pairs.end();
      if (take) wanted.push_back({p.pair, {rq.run_dir + "/cache/" + u.file, p.prompt}});
    }
  }
  for (int pair : rq.pairs)
    LDMG_CHECK(std::any_of(wanted.begin(), wanted.end(), [&](const auto& w) { return w.first == pair; }),
               "pair {} has no cached maps at T={} in '{}' (skipped, failed or not in the run)", pair, T, rq.run_dir);
  std::sort(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  std::filesystem::create_directories(rq.out_dir);
  std::vector<std::string> written;
  for (const auto& [pair, where] : wanted) {
    const cache::AttentionCacheReader reader(where.file);
    const cache::CachedPromptMaps maps(reader, where.prompt);
    const cache::CachedPrompt& cp = maps.prompt();
    const auto tokens = config_tokens(rq.config, cp.token_ids, tokenizer, cp.category);
    const pipeline::ConfigHeatmap h = maps.heatmap(rq.config, tokens);
    const data::GrayImage img = data::read_image(
        data::resolve_image_under_root(rq.images_root, cp.image_path, fmt::format("cached pair {}", pair)), rq.image);
    LDMG_CHECK(img.width == cp.image_width && img.height == cp.image_height, "'{}' is {}x{} but the cache says {}x{}",
               cp.image_path, img.width, img.height, cp.image_width, cp.image_height);
    const at::Tensor orig = grounding::back_to_original(h.post.final.contiguous(), img.width, img.height).contiguous();
    std::vector<viz::OverlayBox> boxes;
    for (const auto& b : cp.boxes) boxes.push_back({b[0], b[1], b[2], b[3]});
    const std::string path = fmt::format("{}/T{}_pair{:04d}.png", rq.out_dir, T, pair);
    viz::render_overlay({img.width, img.height, img.pixels.data()}, orig.data_ptr<float>(), boxes, cp.text)
        .save_png(path);
    written.push_back(path);
  }
  return written;
}

}  // namespace ldmg::sweep
