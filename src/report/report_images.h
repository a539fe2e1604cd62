#pragma once
// The pictures of the report, drawn from the run's attention cache (no model
// run): for every grounded pair of every finished unit and every heatmap
// config of the run, the Fig. 3-style overlay (viz::render_overlay: image,
// heatmap, ground-truth boxes, Otsu-masked map, colour bar, prompt) at full
// size and a small thumbnail without caption, and the tokens the config
// averaged. Units without a cache file (--cache none, every pair skipped)
// keep their rows without pictures.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace ldmg::report {

struct ImageOptions {
  int thumb_side = 128;    // longer side of a thumbnail, pixels
  int overlay_side = 768;  // longer side of the image in a full overlay
  // Worker threads drawing units in parallel, each running LibTorch with one
  // intra-op thread; 0 = the cores this process may use (available_cores).
  // The files written do not depend on it.
  int threads = 0;
  // Serialise every HDF5 call of the workers behind one lock even when the
  // HDF5 library is thread-safe (it always is serialised when the library is
  // not): for tests of that path.
  bool serialise_hdf5 = false;
};

struct ImageStats {
  std::size_t overlays = 0;          // (pair, config) pictures drawn
  std::size_t reused = 0;            // kept from an earlier report into the same site
  std::size_t units_drawn = 0;       // units whose cache was read
  std::size_t units_uncached = 0;    // finished units without a cache file
  std::size_t units_unreadable = 0;  // cache or image unreadable: warned, rows kept without pictures
};

// Fills the thumb, overlay and tokens columns of `data`'s run rows
// (gather_report_data) and writes SITE/thumbs/T<T>_c<config>/<pair>.png and
// SITE/overlays/T<T>_c<config>/<pair>.png (config: its position in the job).
// Pictures an earlier call drew into the same site, with the same sizes, are
// kept when newer than the unit's cache file (SITE/pictures.json records the
// sizes), so re-reporting a running sweep draws only what is new.
// Units are drawn by `options.threads` workers; a unit whose cache or image
// cannot be read is warned about and keeps its rows without pictures (the
// others are drawn). Progress on stderr ("report pictures ... units").
ImageStats write_report_images(nlohmann::json& data, const std::string& site_dir, const ImageOptions& options = {});

}  // namespace ldmg::report
