#include "report/report_images.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "analysis/job_ini.h"
#include "analysis/run_inputs.h"
#include "cache/attention_cache_format.h"
#include "cache/attention_cache_reader.h"
#include "cache/cached_heatmap.h"
#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/threads.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "grounding/back_to_original.h"
#include "grounding/token_selection.h"
#include "pipeline/image_grounder.h"
#include "io/file_bytes.h"
#include "pipeline/heatmap_config.h"
#include "report/report_data.h"
#include "sweep/ledger.h"
#include "sweep/plan_reader.h"
#include "sweep/sweep_plan.h"
#include "text/clip_tokenizer.h"
#include "viz/overlay.h"

namespace ldmg::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// CLIP's BPE marks word ends with "</w>"; the page shows words.
std::string token_text(const std::vector<std::string>& strings, const grounding::TokenSlice& slice) {
  std::string out;
  for (int i = slice.begin; i < slice.end && i < static_cast<int>(strings.size()); ++i) {
    std::string s = strings[static_cast<std::size_t>(i)];
    if (s.size() >= 4 && s.compare(s.size() - 4, 4, "</w>") == 0) s.resize(s.size() - 4);
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

std::vector<std::uint8_t> eight_bit(const data::GrayImage& img) {
  if (img.bit_depth == 8) return img.pixels;
  std::vector<std::uint8_t> out(img.pixels16.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>((img.pixels16[i] + 128u) / 257u);
  return out;
}

// The Otsu region's outline (heatmap above the threshold: final > 0, as the
// masking leaves it) in white over the displayed image, sampled as
// render_overlay samples the heatmap (nearest source pixel).
void draw_otsu_contour(viz::Canvas& canvas, const viz::OverlayLayout& L, const float* map, int w, int h) {
  const int dw = L.image.width, dh = L.image.height;
  std::vector<std::uint8_t> inside(static_cast<std::size_t>(dw) * dh);
  for (int y = 0; y < dh; ++y) {
    const int sy = std::min(h - 1, static_cast<int>((y + 0.5) * h / dh));
    for (int x = 0; x < dw; ++x) {
      const int sx = std::min(w - 1, static_cast<int>((x + 0.5) * w / dw));
      const float v = map[static_cast<std::size_t>(sy) * w + sx];
      inside[static_cast<std::size_t>(y) * dw + x] = v > 0.f;  // NaN: outside
    }
  }
  auto at = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < dw && y < dh && inside[static_cast<std::size_t>(y) * dw + x];
  };
  for (int y = 0; y < dh; ++y)
    for (int x = 0; x < dw; ++x)
      if (at(x, y) && (!at(x - 1, y) || !at(x + 1, y) || !at(x, y - 1) || !at(x, y + 1)))
        canvas.set(L.image_x + x, L.image_y + y, {255, 255, 255});
}

// What one unit adds to the report: the row cells it fills (applied to the
// data after the workers are done, so data.js does not depend on the order
// in which units finish) and its counts.
struct UnitPictures {
  struct Cells {
    std::size_t row;
    std::string thumb, overlay, tokens;
  };
  std::vector<Cells> cells;
  std::size_t overlays = 0, reused = 0;
  bool uncached = false, unreadable = false;
};

// LibTorch's intra-op thread count for the calling thread while drawing, put
// back afterwards. Workers run single-threaded in LibTorch: N workers x N
// intra-op threads would oversubscribe the cores, and one intra-op thread
// everywhere keeps the pictures the same whatever --threads is (a reduction
// split across intra-op threads may round differently).
class IntraOpThreads {
 public:
  explicit IntraOpThreads(int n) : previous_(at::get_num_threads()) { at::set_num_threads(n); }
  ~IntraOpThreads() { at::set_num_threads(previous_); }
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_;
};

}  // namespace

ImageStats write_report_images(json& data, const std::string& site_dir, const ImageOptions& options) {
  ImageStats stats;
  const std::string run = data.at("run").at("dir").get<std::string>();
  const analysis::JobIni job = analysis::JobIni::read(run + "/job.ini");
  const sweep::SweepPlan plan = sweep::read_plan_file(sweep::plan_path(run));
  const sweep::LedgerState ledger = sweep::read_ledgers(run);
  const std::vector<pipeline::HeatmapConfig> configs = analysis::job_heatmap_configs(job);
  const std::string images_root = job.path_or_as_written("images", run), class_override = job.get_or("class-name", "");
  const data::ImageOptions image_options{.dicom = analysis::job_dicom_conversion(job)};  // as the sweep decoded them

  // (source, pair) -> row, for the run's sources.
  std::map<std::pair<int, int>, std::size_t> row_of;
  json& rows = data.at("rows");
  for (std::size_t i = 0; i < rows.size(); ++i) row_of[{rows[i][kSource].get<int>(), rows[i][kPair].get<int>()}] = i;
  std::map<std::pair<int, std::string>, int> source_of;  // (T, config name) -> run source
  for (const json& s : data.at("sources"))
    if (s.at("kind") == "run")
      source_of[{s.at("T").get<int>(), s.at("config").get<std::string>()}] = s.at("id").get<int>();

  std::optional<text::ClipTokenizer> tokenizer;  // tokens=pathology only; loaded by the first worker needing it
  std::mutex tokenizer_mutex;
  auto job_tokenizer = [&]() -> const text::ClipTokenizer& {
    const std::lock_guard lock(tokenizer_mutex);  // encode_words is const: only the loading is guarded
    if (!tokenizer) tokenizer = text::ClipTokenizer::load(analysis::job_tokenizer_dir(job, run));
    return *tokenizer;
  };
  auto tokens_for = [&](const pipeline::HeatmapConfig& cfg, const cache::CachedPrompt& cp) {
    return pipeline::config_tokens(cfg, cp.token_ids, job_tokenizer,
                                   class_override.empty() ? cp.category : class_override);
  };

  viz::OverlayOptions full;
  full.max_side = options.overlay_side;
  viz::OverlayOptions thumb;
  thumb.max_side = options.thumb_side;
  thumb.color_bar = false;
  thumb.box_thickness = 1;

  // Pictures an earlier report drew into this site with the same sizes are
  // kept when newer than their cache file: re-reporting a running sweep
  // draws only the units finished since.
  const std::string stamp_path = (fs::path(site_dir) / "pictures.json").string();
  const json stamp = {{"format", "ldmground.report_pictures"},
                      {"run", run},
                      {"thumb_side", options.thumb_side},
                      {"overlay_side", options.overlay_side},
                      {"version", 1}};
  bool reuse = false;
  if (fs::exists(stamp_path)) {
    const json old = json::parse(io::read_file_bytes(stamp_path), nullptr, false);
    reuse = !old.is_discarded() && old == stamp;
  }
  fs::create_directories(site_dir);
  io::write_file_atomic(stamp_path, stamp.dump(1) + "\n");

  // HDF5 calls (opening a unit, reading its maps, closing it). Debian's and
  // conda's HDF5 are built thread-safe (H5is_library_threadsafe; one lock
  // inside the library), so workers may call it at once. A library built
  // without thread safety must never be entered by two threads: then every
  // HDF5 call of the workers takes this mutex. CachedPromptMaps reads a
  // layer on first use, inside heatmap(), so there the heatmap arithmetic is
  // serialised too; decoding the X-ray, drawing and PNG encoding stay parallel.
  std::mutex hdf5_mutex;
  const bool serialise_hdf5 = options.serialise_hdf5 || !cache::hdf5_is_threadsafe();
  auto hdf5_lock = [&] { return serialise_hdf5 ? std::unique_lock(hdf5_mutex) : std::unique_lock<std::mutex>(); };
  // Folders are created once, by one worker at a time.
  std::mutex dirs_mutex;
  std::set<fs::path> dirs_made;
  auto make_dir = [&](const fs::path& dir) {
    const std::lock_guard lock(dirs_mutex);
    if (dirs_made.insert(dir).second) fs::create_directories(dir);
  };

  auto draw_unit = [&](const sweep::SweepUnit& u) {
    UnitPictures out;
    const std::string file = cache::cache_unit_path(run + "/cache", u.id);
    if (!fs::exists(file)) {
      out.uncached = true;
      return out;
    }
    std::optional<cache::AttentionCacheReader> reader;
    try {
      {
        const auto lock = hdf5_lock();
        reader.emplace(file);
      }
      const auto cache_time = fs::last_write_time(file);
      std::optional<data::GrayImage> img;
      std::vector<std::uint8_t> gray;
      for (int p = 0; p < static_cast<int>(reader->spec().prompts.size()); ++p) {
        const cache::CachedPrompt& cp = reader->spec().prompts[static_cast<std::size_t>(p)];
        std::optional<cache::CachedPromptMaps> maps;  // read only when something is drawn
        std::vector<viz::OverlayBox> boxes;
        for (const auto& b : cp.boxes) boxes.push_back({b[0], b[1], b[2], b[3]});
        for (std::size_t c = 0; c < configs.size(); ++c) {
          const pipeline::HeatmapConfig& cfg = configs[c];
          const auto src = source_of.find({u.T, cfg.name()});
          if (src == source_of.end()) continue;
          const auto row = row_of.find({src->second, static_cast<int>(cp.pair_index)});
          if (row == row_of.end()) continue;
          const grounding::TokenSlice tokens = tokens_for(cfg, cp);
          const std::string name = fmt::format("T{}_c{}/{:04d}.png", u.T, c, cp.pair_index);
          const fs::path full_path = fs::path(site_dir) / "overlays" / name,
                         thumb_path = fs::path(site_dir) / "thumbs" / name;
          // A row links its pictures once they are on disk: a unit failing
          // half-way keeps the pictures drawn before and no link to missing ones.
          UnitPictures::Cells cells{row->second, "thumbs/" + name, "overlays/" + name,
                                    token_text(cp.token_strings, tokens)};
          if (reuse && fs::exists(full_path) && fs::exists(thumb_path) &&
              fs::last_write_time(thumb_path) >= cache_time && fs::last_write_time(full_path) >= cache_time) {
            ++out.reused;
            out.cells.push_back(std::move(cells));
            continue;
          }
          if (!img) {
            const std::string image_file =
                data::resolve_image_under_root(images_root, cp.image_path, fmt::format("unit {}", u.id));
            img = data::read_image(image_file, image_options);
            LDMG_CHECK(img->width == cp.image_width && img->height == cp.image_height,
                       "'{}' is {}x{} but the cache says {}x{}", cp.image_path, img->width, img->height, cp.image_width,
                       cp.image_height);
            gray = eight_bit(*img);
          }
          if (!maps) maps.emplace(*reader, p);
          pipeline::ConfigHeatmap h;
          {
            const auto lock = hdf5_lock();  // the maps of a layer are read on its first use
            h = maps->heatmap(cfg, tokens);
          }
          // [512,512] -> [H,W], NaN outside the mapped square
          const at::Tensor orig =
              grounding::back_to_original(h.post.final.contiguous(), img->width, img->height).contiguous();
          const viz::GrayView view{img->width, img->height, gray.data()};
          make_dir(full_path.parent_path());
          make_dir(thumb_path.parent_path());
          viz::Canvas canvas = viz::render_overlay(view, orig.data_ptr<float>(), boxes, cp.text, full);
          if (cfg.otsu && std::isfinite(h.post.threshold))
            draw_otsu_contour(canvas, viz::overlay_layout(view, cp.text, full), orig.data_ptr<float>(), img->width,
                              img->height);
          canvas.save_png(full_path.string());
          viz::render_overlay(view, orig.data_ptr<float>(), boxes, "", thumb).save_png(thumb_path.string());
          ++out.overlays;
          out.cells.push_back(std::move(cells));
        }
      }
    } catch (const std::exception& e) {
      // A unit being written by a running sweep, or an image moved away: keep
      // its rows, with the pictures drawn before the failure.
      log::warn("report: no pictures for unit {} ('{}'): {}", u.id, u.path, e.what());
      out.unreadable = true;
    }
    const auto lock = hdf5_lock();  // closing the file is an HDF5 call too
    reader.reset();
    return out;
  };

  std::vector<const sweep::SweepUnit*> todo;
  for (const sweep::SweepUnit& u : plan.units)
    if (ledger.status(u.id) == sweep::UnitStatus::ok) todo.push_back(&u);
  std::vector<UnitPictures> done(todo.size());
  const int asked = options.threads > 0 ? options.threads : available_cores();
  const int workers = static_cast<int>(std::min<std::size_t>(asked, std::max<std::size_t>(todo.size(), 1)));
  Progress progress(fmt::format("report pictures ({} thread{})", workers, workers > 1 ? "s" : ""),
                    static_cast<long>(todo.size()));
  std::mutex progress_mutex;
  std::size_t units_finished = 0, drawn = 0, kept = 0;
  std::atomic<std::size_t> next{0};
  std::exception_ptr fatal;  // anything but a std::exception: stops the workers, rethrown here
  std::atomic<bool> stop{false};
  auto work = [&] {
    at::set_num_threads(1);  // this thread's LibTorch (IntraOpThreads below explains)
    while (!stop) {
      const std::size_t i = next++;
      if (i >= todo.size()) return;
      try {
        done[i] = draw_unit(*todo[i]);
      } catch (...) {
        const std::lock_guard lock(progress_mutex);
        if (!fatal) fatal = std::current_exception();
        stop = true;
        return;
      }
      const std::lock_guard lock(progress_mutex);
      drawn += done[i].overlays;
      kept += done[i].reused;
      progress.update(static_cast<long>(++units_finished), fmt::format("{} pictures drawn, {} kept", drawn, kept));
    }
  };
  {
    const IntraOpThreads single(1);
    if (workers == 1) {
      work();
    } else {
      std::vector<std::thread> pool;
      for (int w = 0; w < workers; ++w) pool.emplace_back(work);
      for (std::thread& t : pool) t.join();
    }
  }
  if (fatal) std::rethrow_exception(fatal);

  for (const UnitPictures& d : done) {
    for (const UnitPictures::Cells& cell : d.cells) {
      json& r = rows[cell.row];
      r[kThumb] = cell.thumb;
      r[kOverlay] = cell.overlay;
      r[kTokens] = cell.tokens;
    }
    stats.overlays += d.overlays;
    stats.reused += d.reused;
    stats.units_uncached += d.uncached;
    stats.units_unreadable += d.unreadable;
    stats.units_drawn += !d.uncached && !d.unreadable;
  }
  return stats;
}

}  // namespace ldmg::report
