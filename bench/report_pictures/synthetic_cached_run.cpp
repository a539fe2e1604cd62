#include "synthetic_cached_run.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "cache/attention_cache_writer.h"
#include "core/check.h"
#include "io/file_bytes.h"
#include "io/png_writer.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/heatmap_config.h"
#include "sweep/ledger.h"
#include "sweep/sweep_plan.h"
#include "sweep/unit_result.h"

namespace ldmg::bench {

namespace fs = std::filesystem;

namespace {

const char* const kCategories[] = {"Atelectasis",  "Cardiomegaly",     "Consolidation", "Edema",
                                   "Lung Opacity", "Pleural Effusion", "Pneumonia",     "Pneumothorax"};
const char* const kWords[] = {"small", "left", "right", "basal", "patchy", "opacity", "effusion", "lobe"};

// SplitMix64: a reproducible value per index, for ids, boxes and noise.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
double unit_interval(std::uint64_t z) { return static_cast<double>(mix(z) >> 11) / static_cast<double>(1ull << 53); }

struct Pair {
  int index = 0;
  std::string category, text;
  std::array<double, 4> box{};  // x, y, w, h in image pixels
  std::vector<std::int64_t> token_ids;
  std::vector<std::string> token_strings;
};

Pair make_pair(int index, const CachedRunOptions& o) {
  Pair p;
  p.index = index;
  p.category = kCategories[index % 8];
  const int words = 3 + index % 5;
  p.token_ids = {49406};
  p.token_strings = {"<|startoftext|>"};
  for (int w = 0; w < words; ++w) {
    const char* word = kWords[mix(static_cast<std::uint64_t>(index) * 31 + w) % 8];
    p.text += (w ? " " : "") + std::string(word);
    p.token_ids.push_back(1000 + static_cast<std::int64_t>(mix(static_cast<std::uint64_t>(index) * 31 + w) % 8));
    p.token_strings.push_back(std::string(word) + "</w>");
  }
  p.token_ids.push_back(49407);
  p.token_strings.push_back("<|endoftext|>");
  const double W = o.image_width, H = o.image_height;
  const double bw = W * (0.15 + 0.2 * unit_interval(4 * index)), bh = H * (0.15 + 0.2 * unit_interval(4 * index + 1));
  // Whole pixels, as MS-CXR's boxes are.
  p.box = {std::floor((W - bw) * unit_interval(4 * index + 2)), std::floor((H - bh) * unit_interval(4 * index + 3)),
           std::floor(bw), std::floor(bh)};
  return p;
}

// Dark lungs either side of a bright mediastinum, with a little noise.
std::vector<std::uint8_t> xray(int unit, int W, int H) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(W) * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double u = (x + 0.5) / W - 0.5, v = (y + 0.5) / H - 0.55;
      const double lung = std::exp(-std::pow((std::abs(u) - 0.23) / 0.14, 2) - std::pow(v / 0.32, 2));
      const double noise = 16 * (unit_interval((static_cast<std::uint64_t>(unit) << 40) ^ (y * W + x)) - 0.5);
      px[static_cast<std::size_t>(y) * W + x] =
          static_cast<std::uint8_t>(std::clamp(205 - 150 * lung + noise, 0.0, 255.0));
    }
  return px;
}

// [h*w, 77] attention probabilities: a blob at the box centre whose width
// and weight vary with the layer, step and token, so configs differ.
at::Tensor blob_maps(const Pair& p, const CachedRunOptions& o, int layer, int step, std::int64_t h, std::int64_t w) {
  at::Tensor t = at::full({h * w, 77}, 1e-4f, at::kFloat);  // [HW, S]
  auto a = t.accessor<float, 2>();
  const double cx = (p.box[0] + p.box[2] / 2) / o.image_width, cy = (p.box[1] + p.box[3] / 2) / o.image_height;
  const double s = 0.08 + 0.02 * (layer % 3) + 0.005 * (step % 4);
  for (std::int64_t i = 0; i < h * w; ++i) {
    const double x = (static_cast<double>(i % w) + 0.5) / w - cx, y = (static_cast<double>(i / w) + 0.5) / h - cy;
    const double g = std::exp(-(x * x + y * y) / (2 * s * s));
    for (std::size_t j = 0; j < p.token_ids.size(); ++j)
      a[i][static_cast<std::int64_t>(j)] = static_cast<float>(0.01 + g / (1.0 + 0.3 * static_cast<double>(j)));
  }
  return t;
}

}  // namespace

CachedRun write_cached_run(const std::string& dir, const CachedRunOptions& o) {
  LDMG_CHECK(
      o.units >= 1 && o.prompts >= 1 && o.T >= 10 && o.image_width >= 16 && o.image_height >= 16 && o.map_scale >= 1,
      "write_cached_run: units, prompts >= 1, T >= 10, images >= 16 px, map_scale >= 1 expected");
  CachedRun out;
  const fs::path root = fs::absolute(dir).lexically_normal();
  out.run_dir = (root / "run").string();
  out.images_root = (root / "images").string();
  LDMG_CHECK(!fs::exists(root / "run" / "plan.json"), "'{}' already holds a run", dir);
  fs::create_directories(root / "images");
  fs::create_directories(root / "run" / "cache");

  std::vector<pipeline::HeatmapConfig> configs = {pipeline::HeatmapConfig{}};
  std::string job = fmt::format(
      "# written by write_cached_run (bench/report_pictures)\ndataset = {}\nimages = {}\n"
      "steps = {}\ncache = window\nbootstrap = 20\nseed = 0\n",
      (root / "ms_cxr.csv").string(), out.images_root, o.T);
  for (const std::string& c : o.extra_configs) {
    configs.push_back(pipeline::parse_heatmap_spec(c));
    job += "config = " + c + "\n";
  }
  std::vector<std::string> config_names;
  for (const auto& c : configs) config_names.push_back(c.name());
  io::write_file_atomic(out.run_dir + "/job.ini", job);

  // The cached steps: every step some config's window needs.
  std::vector<int> steps;
  for (const auto& c : configs) {
    const auto [b, e] = c.window(o.T, o.T);
    for (int s = b; s < e; ++s) steps.push_back(s);
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  // The real model's 11 attn2 layers, 5 of 32x32 and 6 of 16x16, divided by 8 / map_scale.
  const int big = 4 * o.map_scale, small = 2 * o.map_scale;
  std::vector<cache::CachedLayer> layers;
  for (int l = 0; l < 11; ++l) {
    const int side = (l < 2 || l > 7) ? big : small;
    layers.push_back({l, fmt::format("attn2.{}", l), side, side});
  }

  std::string csv = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height\n";
  sweep::SweepPlan plan;
  plan.Ts = {o.T};
  plan.settings = {"synthetic", "cache=window", "digest-synthetic", "v-synthetic"};
  std::ofstream ledger;
  fs::create_directories(sweep::ledger_dir(out.run_dir));
  ledger.open(sweep::ledger_file(out.run_dir, 0));
  for (int u = 0; u < o.units; ++u) {
    const std::string rel = fmt::format("files/p{}/img{:05d}.png", u % 10, u), dicom = fmt::format("d{:05d}", u);
    if (std::find(o.unit_missing_image.begin(), o.unit_missing_image.end(), u) == o.unit_missing_image.end()) {
      fs::create_directories((fs::path(out.images_root) / rel).parent_path());
      const std::vector<std::uint8_t> px = xray(u, o.image_width, o.image_height);
      io::write_png_gray(out.images_root + "/" + rel, o.image_width, o.image_height, px.data());
    }
    sweep::SweepUnit unit;
    unit.id = fmt::format("{:08x}{:016x}", u, mix(static_cast<std::uint64_t>(u)));
    unit.T = o.T;
    unit.image_path = out.images_root + "/" + rel;
    unit.path = rel;
    unit.image_sha256 = fmt::format("{:016x}{:016x}{:016x}{:016x}", mix(u + 1), mix(u + 2), mix(u + 3), mix(u + 4));

    cache::CacheUnitSpec spec;
    spec.unit_id = unit.id;
    spec.T = o.T;
    spec.config_json = "{}";
    spec.provenance_json = R"({"made_by":"write_cached_run"})";
    spec.model_digest = "digest-synthetic";
    for (int i = 0; i < o.T; ++i) spec.timesteps.push_back(1 + (1000 / o.T) * i);
    spec.cached_steps = steps;
    spec.layers = layers;
    sweep::UnitResult result;
    result.unit_id = unit.id;
    result.T = o.T;
    result.configs = config_names;
    std::vector<Pair> pairs;
    for (int k = 0; k < o.prompts; ++k) {
      const Pair p = make_pair(out.pairs++, o);
      unit.pairs.push_back(p.index);
      plan.pairs.push_back(p.index);
      csv += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", dicom, p.category, p.text, rel, p.box[0], p.box[1],
                         p.box[2], p.box[3], o.image_width, o.image_height);
      cache::CachedPrompt cp;
      cp.text = p.text;
      cp.token_ids = p.token_ids;
      cp.token_strings = p.token_strings;
      cp.category = p.category;
      cp.boxes = {p.box};
      cp.image_width = o.image_width;
      cp.image_height = o.image_height;
      cp.pair_index = p.index;
      cp.dicom_id = dicom;
      cp.image_path = rel;
      spec.prompts.push_back(cp);
      std::vector<pipeline::PairRow> rows;
      for (std::size_t c = 0; c < configs.size(); ++c) {
        pipeline::PairRow r;
        r.pair = p.index;
        r.dicom_id = dicom;
        r.path = rel;
        r.category = p.category;
        r.prompt = p.text;
        const double cnr = 2 * unit_interval(1000003ull * p.index + c) - 0.5;
        r.metrics = {p.category, std::abs(cnr), cnr, unit_interval(7 * p.index + c), 0.5 + 0.4 * unit_interval(p.index),
                     0};
        r.metrics.auroc_exact = r.metrics.auroc;
        r.otsu_threshold = 0.5f;
        rows.push_back(r);
      }
      result.rows.push_back(rows);
      pairs.push_back(p);
    }
    if (std::find(o.unit_without_cache.begin(), o.unit_without_cache.end(), u) == o.unit_without_cache.end()) {
      cache::AttentionCacheOptions co;
      co.background = false;
      cache::AttentionCacheWriter writer(out.run_dir + "/cache", spec, co);
      for (int s : steps)
        for (const cache::CachedLayer& l : layers)
          for (std::size_t k = 0; k < pairs.size(); ++k)
            writer.on_maps(s, l.index, static_cast<int>(k), blob_maps(pairs[k], o, l.index, s, l.h, l.w), l.h, l.w);
      writer.commit();
    }
    sweep::write_unit_result(out.run_dir, result);
    ledger << sweep::format_ledger_line({unit.id, sweep::UnitStatus::ok, "", 1.0, 0, "2026-01-01T00:00:00.000000Z"});
    plan.units.push_back(std::move(unit));
  }
  LDMG_CHECK(ledger.good(), "cannot write the ledger of '{}'", out.run_dir);
  io::write_file_atomic((root / "ms_cxr.csv").string(), csv);
  io::write_file_atomic(sweep::plan_path(out.run_dir), sweep::plan_json_text(plan));
  return out;
}

}  // namespace ldmg::bench
