// report_pictures DIR [--units 40] [--prompts 3] [--T 300] [--width 1024]
//   [--height 1280] [--map-scale 8] [--threads 1,2]: how fast `ldmground
// report` draws its pictures from an attention cache (write_report_images:
// read the cache, recompute the heatmap, map it back to the X-ray, draw the
// overlay and the thumbnail, encode both PNGs), at each thread count, on a
// synthetic run written once into DIR/run by the sweep's own writers
// (synthetic_cached_run.h; the real model's layer sizes at --map-scale 8).
// Prints pictures per second per thread count and the speed-up over the
// first, and checks the sites are byte-identical. A benchmark, not a test
// (bench/README.md "Report pictures").
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cache/attention_cache_format.h"
#include "core/threads.h"
#include "io/file_bytes.h"
#include "report/report_data.h"
#include "report/report_images.h"
#include "synthetic_cached_run.h"

namespace fs = std::filesystem;
using namespace ldmg;

namespace {

// Every file under `dir`, relative path -> bytes.
std::vector<std::pair<std::string, std::string>> tree(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      out.emplace_back(e.path().lexically_relative(dir).string(), io::read_file_bytes(e.path().string()));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]).rfind("--", 0) == 0) {
    std::cerr << "usage: report_pictures DIR [--units 40] [--prompts 3] [--T 300] [--width 1024] [--height 1280] "
                 "[--map-scale 8] [--threads 1,2]\n";
    return 2;
  }
  const fs::path dir = fs::absolute(argv[1]).lexically_normal();
  bench::CachedRunOptions o;
  o.units = 40;
  o.prompts = 3;
  o.T = 300;
  o.image_width = 1024;
  o.image_height = 1280;
  o.map_scale = 8;
  o.extra_configs = {"layers=all;window=paper;otsu=off", "layers=3,4,6,7;window=paper;otsu=on;sigma=1"};
  std::vector<int> threads = {1, 2};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--units")
      o.units = std::atoi(v.c_str());
    else if (k == "--prompts")
      o.prompts = std::atoi(v.c_str());
    else if (k == "--T")
      o.T = std::atoi(v.c_str());
    else if (k == "--width")
      o.image_width = std::atoi(v.c_str());
    else if (k == "--height")
      o.image_height = std::atoi(v.c_str());
    else if (k == "--map-scale")
      o.map_scale = std::atoi(v.c_str());
    else if (k == "--threads") {
      threads.clear();
      std::stringstream ss(v);
      for (std::string t; std::getline(ss, t, ',');) threads.push_back(std::atoi(t.c_str()));
    } else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  for (int t : threads)
    if (t < 1) {
      std::cerr << "--threads: a comma-separated list of counts >= 1\n";
      return 2;
    }
  try {
    const std::string sizes = fmt::format("units={} prompts={} T={} image={}x{} map-scale={}", o.units, o.prompts, o.T,
                                          o.image_width, o.image_height, o.map_scale);
    const fs::path marker = dir / "run.txt";
    if (fs::exists(marker) && io::read_file_bytes(marker.string()) == sizes) {
      std::cout << "reusing the run in " << dir.string() << " (" << sizes << ")\n";
    } else {
      // Only a run this program wrote (its marker beside it) is replaced.
      if (!fs::exists(marker) && (fs::exists(dir / "run") || fs::exists(dir / "images"))) {
        std::cerr << "report_pictures: " << dir.string()
                  << " holds a run or images that report_pictures did not write (no run.txt): give an empty or new "
                     "folder\n";
        return 2;
      }
      fs::remove_all(dir / "run");
      fs::remove_all(dir / "images");
      const auto t0 = std::chrono::steady_clock::now();
      bench::write_cached_run(dir.string(), o);
      io::write_file_atomic(marker.string(), sizes);
      std::cout << fmt::format("wrote the run in {:.1f} s ({})\n",
                               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), sizes);
    }
    const nlohmann::json data = report::gather_report_data({(dir / "run").string(), {}, {}});
    std::cout << fmt::format("{} rows, {} cores available, HDF5 thread-safe: {}\n", data["rows"].size(),
                             available_cores(), cache::hdf5_is_threadsafe() ? "yes" : "no");
    double first_rate = 0;
    std::vector<std::pair<std::string, std::string>> first_tree;
    for (std::size_t k = 0; k < threads.size(); ++k) {
      const fs::path site = dir / fmt::format("site_t{}", threads[k]);
      fs::remove_all(site);
      nlohmann::json d = data;
      report::ImageOptions io;
      io.threads = threads[k];
      const auto t0 = std::chrono::steady_clock::now();
      const std::clock_t c0 = std::clock();  // CPU time of every thread of the process
      const report::ImageStats s = report::write_report_images(d, site.string(), io);
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      const double rate = s.overlays / sec;
      if (k == 0) first_rate = rate;
      io::write_file_atomic((site / "data.json").string(), d.dump(1));
      auto t = tree(site);
      const bool same = k == 0 || t == first_tree;
      if (k == 0) first_tree = std::move(t);
      // Cores busy = CPU time / wall time: below the thread count when other
      // processes share the cores (or when the threads wait on each other).
      std::cout << fmt::format(
          "threads {}: {} pictures in {:.2f} s = {:.2f} pictures/s ({:.3f} s each), x{:.2f} vs "
          "{} thread(s); CPU {:.1f} s = {:.2f} cores busy, {:.3f} CPU s per picture{}\n",
          threads[k], s.overlays, sec, rate, sec / std::max<double>(1, s.overlays), rate / first_rate, threads[0], cpu,
          cpu / sec, cpu / std::max<double>(1, s.overlays), same ? "" : "; SITE DIFFERS FROM THE FIRST");
      std::cout.flush();
      if (!same) return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "report_pictures: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
