// `ldmground report --run DIR --out SITE`: a run as a static site to look
// at (src/report/): Table I per T and config, the per-pair table with
// overlays drawn from the attention cache, distributions, provenance and
// failures. Reads files only.
#include <filesystem>
#include <iostream>

#include "cli/options.h"
#include "core/check.h"
#include "core/log.h"
#include "report/report_site.h"

namespace ldmg::cli {

int run_report(int argc, char** argv) {
  po::options_description desc("report options");
  add_common_options(desc);
  desc.add_options()
      ("run", po::value<std::string>()->required(), "a sweep's run folder (finished or in progress)")
      ("out", po::value<std::string>()->required(), "folder for the site (index.html, data.js, thumbs/, overlays/)")
      ("analysis", po::value<std::vector<std::string>>()->default_value({}, ""),
       "analyze or search output folder, or a folder of figures (repeatable): its summaries, tables, search results "
       "and PNGs")
      ("score", po::value<std::vector<std::string>>()->default_value({}, ""),
       "evaluate-format folder (pairs.csv + summary.json, e.g. `evaluate`'s or `score`'s OUT; repeatable), shown "
       "beside the run")
      ("thumb-size", po::value<int>()->default_value(128), "longer side of the table's thumbnails, pixels")
      ("overlay-size", po::value<int>()->default_value(768), "longer side of the image in a full overlay, pixels");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground report --run DIR --out SITE [--analysis OUT ...] [--score OUT ...] [--threads N]\n\n"
                     "Writes a static site (open SITE/index.html from the file system; no server, no network): the "
                     "Table I summary per T and config with bootstrap intervals, several runs or scorings side by "
                     "side, a sortable, filterable per-pair table with thumbnails and full overlays recomputed from "
                     "the attention cache (no model run), per-category distributions, search results and figures, "
                     "the run's provenance and failures. A run in progress gives what is done.\n\n"
                     "--threads N: pictures are drawn by N worker threads, one unit each at a time, each running "
                     "LibTorch on one thread (0 = the cores available to this process); the site written is the same "
                     "for every N.",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  report::ReportInputs in;
  in.run_dir = vm["run"].as<std::string>();
  in.analysis_dirs = vm["analysis"].as<std::vector<std::string>>();
  in.score_dirs = vm["score"].as<std::vector<std::string>>();
  report::ImageOptions io;
  io.thumb_side = vm["thumb-size"].as<int>();
  io.overlay_side = vm["overlay-size"].as<int>();
  io.threads = vm["threads"].as<int>();  // >= 0: checked by apply_common_options
  LDMG_CHECK(io.thumb_side >= 16 && io.thumb_side <= 1024, "--thumb-size: expected 16..1024, got {}", io.thumb_side);
  LDMG_CHECK(io.overlay_side >= 64 && io.overlay_side <= 4096, "--overlay-size: expected 64..4096, got {}",
             io.overlay_side);
  const std::string out = std::filesystem::absolute(vm["out"].as<std::string>()).lexically_normal().string();
  const report::ReportOutcome r = report::write_report(in, out, io);
  log::info("report: {} rows in {} source(s), {} overlays drawn from the cache ({} kept from the last report; {} "
            "unit(s) without a cache file, {} unreadable), {} figure(s){}", r.rows, r.sources, r.images.overlays,
            r.images.reused, r.images.units_uncached, r.images.units_unreadable, r.figures, r.complete ? "" : "; the run is NOT finished: the report shows what is done");
  std::cout << r.index_html << "\n";
  return 0;
}

}  // namespace ldmg::cli
