#include "analysis/heatmap_export.h"

#include <torch/torch.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "analysis/search_space.h"
#include "cache/attention_cache_reader.h"
#include "cache/cached_heatmap.h"
#include "core/check.h"
#include "core/sha256.h"
#include "data/box_survival.h"
#include "data/image.h"
#include "grounding/back_to_original.h"
#include "io/hdf5_file.h"
#include "pipeline/pair_scoring.h"

namespace ldmg::analysis {

namespace fs = std::filesystem;

namespace {

// The pair's image as the sweep read it: the plan's resolved path, else the
// job's images root + the CSV path (here or beside the run folder); its bytes
// must be the ones the sweep hashed.
std::string image_file(const RunInputs& run, const sweep::SweepUnit& u) {
  std::vector<std::string> candidates = {u.image_path};
  const std::string root = run.job().get_or("images", "");
  if (!root.empty()) {
    candidates.push_back((fs::path(root) / u.path).string());
    candidates.push_back((fs::path(run.run_dir()).parent_path() / root / u.path).string());
  }
  for (const auto& c : candidates) {
    if (!fs::is_regular_file(c)) continue;
    LDMG_CHECK(sha256_file(c) == u.image_sha256, "'{}' is not the image the sweep ran on (its SHA-256 differs from "
               "{}/plan.json's)", c, run.run_dir());
    return c;
  }
  LDMG_FAIL("image '{}' of unit {} not found (tried '{}'); run analyze where the sweep ran or keep the job's images "
            "root beside the run folder", u.path, u.id, fmt::join(candidates, "', '"));
}

// 8-bit gray pixels for display.
std::vector<std::uint8_t> display_pixels(const data::GrayImage& img) {
  if (img.bit_depth == 8) return img.pixels;
  std::vector<std::uint8_t> out(img.pixels16.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>((img.pixels16[i] + 128u) / 257u);
  return out;
}

}  // namespace

std::vector<int> parse_pair_list(const std::string& text, const std::string& what) {
  std::vector<int> out;
  for (std::size_t b = 0; b <= text.size();) {
    const std::size_t e = std::min(text.find(',', b), text.size());
    const std::string item = trim(text.substr(b, e - b));
    LDMG_CHECK(!item.empty() && item.size() <= 9 && std::all_of(item.begin(), item.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; }),
               "{}: expected pair indices like '0,3,7', got '{}'", what, text);
    const int pair = std::stoi(item);
    LDMG_CHECK(std::find(out.begin(), out.end(), pair) == out.end(), "{}: pair {} is listed twice", what, pair);
    out.push_back(pair);
    b = e + 1;
  }
  return out;
}

std::vector<std::string> write_pair_heatmaps(const std::string& out_dir, const RunInputs& run, const std::vector<int>& Ts,
                                             const std::vector<pipeline::HeatmapConfig>& configs,
                                             const std::vector<int>& pairs, const nlohmann::json& provenance) {
  std::vector<std::string> written;
  for (int T : Ts) {
    // The chosen pairs' sources at T, in the order asked.
    const std::vector<PairSource> all = run.pair_sources(T);
    std::vector<PairSource> chosen;
    for (int pair : pairs) {
      const auto it = std::find_if(all.begin(), all.end(), [&](const PairSource& s) { return s.pair == pair; });
      LDMG_CHECK(it != all.end(), "--heatmaps: pair {} is not in the run '{}' at T={}", pair, run.run_dir(), T);
      LDMG_CHECK(it->prompt >= 0, "--heatmaps: pair {} was not grounded at T={} ({})", pair, T,
                 it->fixed.skipped ? "skipped: no box survives the crop" : "failed: " + it->fixed.error);
      chosen.push_back(*it);
    }
    for (const auto& cfg : configs) {
      const std::string dir = fmt::format("{}/T{}/{}", out_dir, T, cfg.name());
      fs::create_directories(dir);
      const std::string path = dir + "/heatmaps.h5";
      io::h5::File file = io::h5::File::create(path);
      file.set_string_attr("format", "ldmground.heatmaps");
      file.set_int_attr("schema_version", 1);
      file.set_int_attr("T", T);
      file.set_string_attr("heatmap_config", cfg.name());
      file.set_string_attr("heatmap_spec", heatmap_spec(cfg));
      const std::vector<std::int64_t> order(pairs.begin(), pairs.end());
      file.set_ints_attr("pairs", order);
      file.set_string_attr("provenance", provenance.dump());
      for (const PairSource& s : chosen) {
        const sweep::SweepUnit& u = run.plan().units.at(static_cast<std::size_t>(s.unit));
        const data::Pair& p = run.dataset()[static_cast<std::size_t>(s.pair)];
        const cache::AttentionCacheReader reader(run.cache_file(s.unit));
        const cache::CachedPrompt& cp = reader.spec().prompts.at(static_cast<std::size_t>(s.prompt));
        LDMG_CHECK(cp.pair_index == s.pair, "{}: prompt {} is pair {}, the unit's rows say pair {}", reader.path(),
                   s.prompt, cp.pair_index, s.pair);
        const int W = static_cast<int>(cp.image_width), H = static_cast<int>(cp.image_height);
        // analyze's exact path (offline_analysis.cpp score_unit), one pair.
        const cache::CachedPromptMaps maps(reader, s.prompt);
        const grounding::TokenSlice tokens = offline_tokens(cfg, cp.token_ids, run, run.class_name(p));
        const pipeline::ConfigHeatmap h = maps.heatmap(cfg, tokens);
        const data::SurvivedBoxes surv = data::survive_boxes(p.boxes, p.csv_width, p.csv_height, 512, run.survival());
        const metrics::PairMetrics m = pipeline::score_heatmap(h.post.final, surv.original, W, H);
        const at::Tensor final512 = h.post.final.to(at::kFloat).contiguous();                               // [512, 512]
        const at::Tensor orig = grounding::back_to_original(final512, W, H).to(at::kFloat).contiguous();  // [H, W]

        const std::string file_name = image_file(run, u);
        const data::GrayImage img = data::read_image(file_name, {.dicom = run.dicom_conversion()});
        LDMG_CHECK(img.width == W && img.height == H, "'{}' is {}x{} but the cache says {}x{}", file_name, img.width,
                   img.height, W, H);

        io::h5::Group g = file.create_group("/pairs/" + std::to_string(s.pair));
        g.set_string_attr("prompt", p.prompt);
        g.set_string_attr("category", p.category);
        g.set_string_attr("dicom_id", p.dicom_id);
        g.set_string_attr("image_path", p.path);
        g.set_int_attr("image_width", W);
        g.set_int_attr("image_height", H);
        g.set_ints_attr("token_ids", cp.token_ids);
        g.set_strings_attr("token_strings", cp.token_strings);
        const std::int64_t slice[2] = {tokens.begin, tokens.end};
        g.set_ints_attr("token_slice", slice);
        g.set_double_attr("otsu_threshold", h.post.threshold);
        g.set_double_attr("otsu_margin", h.post.otsu_margin);
        g.set_double_attr("abs_cnr", m.abs_cnr);
        g.set_double_attr("cnr", m.cnr);
        g.set_double_attr("miou", m.miou);
        g.set_double_attr("auroc", m.auroc);
        g.set_double_attr("auroc_exact", m.auroc_exact);

        io::h5::DatasetOptions opt;
        opt.shuffle = true;
        opt.gzip_level = 4;
        g.write_floats("heatmap_512", std::span<const float>(final512.data_ptr<float>(), final512.numel()),
                       {final512.size(0), final512.size(1)}, opt);
        g.write_floats("heatmap", std::span<const float>(orig.data_ptr<float>(), orig.numel()), {H, W}, opt);
        const std::vector<std::uint8_t> pixels = display_pixels(img);
        g.write_bytes("image", pixels, {H, W}, opt);
        std::vector<double> boxes;
        std::vector<std::int64_t> scored;
        for (std::size_t k = 0; k < p.boxes.size(); ++k) {
          const data::Box& b = p.boxes[k];
          boxes.insert(boxes.end(), {double(b.x), double(b.y), double(b.w), double(b.h)});
          scored.push_back(std::count(surv.kept.begin(), surv.kept.end(), static_cast<int>(k)) ? 1 : 0);
        }
        g.write_doubles("boxes", boxes, {static_cast<std::int64_t>(p.boxes.size()), 4});
        g.write_ints("box_scored", scored, {static_cast<std::int64_t>(scored.size())});
      }
      file.commit();
      written.push_back(path);
    }
  }
  return written;
}

}  // namespace ldmg::analysis
