// The report's pictures drawn by several threads (write_report_images) on a
// small run with an attention cache written by the sweep's own writers
// (bench/report_pictures/synthetic_cached_run.h): the site is byte-identical
// for every thread count and with HDF5 calls serialised, a unit whose image
// is gone loses only its own pictures, and a second report keeps them all.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "io/file_bytes.h"
#include "report/report_data.h"
#include "report/report_images.h"
#include "report/report_site.h"
#include "support/fixtures.h"
#include "synthetic_cached_run.h"

namespace ldmg::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Every file under `dir`: relative path -> bytes.
std::map<std::string, std::string> site_files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().lexically_relative(dir).string()] = io::read_file_bytes(e.path().string());
  return out;
}

json data_of(const std::map<std::string, std::string>& site) {
  const std::string& js = site.at("data.js");
  const std::string prefix = "window.LDMG_REPORT = ";
  EXPECT_EQ(js.compare(0, prefix.size(), prefix), 0);
  return json::parse(js.substr(prefix.size(), js.rfind(';') - prefix.size()));
}

TEST(ReportImages, SiteIsTheSameForEveryThreadCount) {
  const std::string root = test::temp_dir("report_threads");
  bench::CachedRunOptions o;
  o.units = 6;                 // 2 pairs each, 2 configs
  o.unit_missing_image = {2};  // its cache reads, its X-ray does not: warned, no pictures
  o.unit_without_cache = {4};
  const bench::CachedRun run = bench::write_cached_run(root + "/data", o);

  struct Variant {
    int threads;
    bool serialise_hdf5;
  };
  std::map<std::string, std::string> first;
  for (const Variant v : {Variant{1, false}, Variant{3, false}, Variant{3, true}, Variant{2, false}}) {
    SCOPED_TRACE(testing::Message() << "threads " << v.threads << (v.serialise_hdf5 ? ", HDF5 serialised" : ""));
    const std::string site = fmt::format("{}/site_{}{}", root, v.threads, v.serialise_hdf5 ? "_locked" : "");
    ImageOptions io;
    io.threads = v.threads;
    io.serialise_hdf5 = v.serialise_hdf5;
    const ReportOutcome r = write_report({run.run_dir, {}, {}}, site, io);
    // 4 units with a cache and an image x 2 pairs x 2 configs.
    EXPECT_EQ(r.images.overlays, 16u);
    EXPECT_EQ(r.images.reused, 0u);
    EXPECT_EQ(r.images.units_drawn, 4u);
    EXPECT_EQ(r.images.units_unreadable, 1u);
    EXPECT_EQ(r.images.units_uncached, 1u);
    const auto files = site_files(site);
    if (first.empty()) {
      first = files;
      continue;
    }
    ASSERT_EQ(files.size(), first.size());
    for (const auto& [path, bytes] : first) {
      const auto it = files.find(path);
      ASSERT_NE(it, files.end()) << path;
      EXPECT_TRUE(it->second == bytes) << path << " differs from the single-threaded site";
    }
  }

  // The rows link exactly the pictures on disk: pairs 4, 5 (unit 2, image
  // gone) and 8, 9 (unit 4, no cache) have none; configs draw different maps.
  const json data = data_of(first);
  std::size_t linked = 0;
  for (const json& row : data["rows"]) {
    const int pair = row[kPair].get<int>();
    const bool pictured = pair != 4 && pair != 5 && pair != 8 && pair != 9;
    ASSERT_EQ(!row[kThumb].is_null(), pictured) << "pair " << pair;
    ASSERT_EQ(!row[kOverlay].is_null(), pictured) << "pair " << pair;
    if (!pictured) continue;
    ++linked;
    EXPECT_TRUE(first.count(row[kThumb].get<std::string>())) << row[kThumb];
    EXPECT_TRUE(first.count(row[kOverlay].get<std::string>())) << row[kOverlay];
    EXPECT_FALSE(row[kTokens].get<std::string>().empty());
  }
  EXPECT_EQ(linked, 16u);
  EXPECT_NE(first.at("overlays/T10_c0/0000.png"), first.at("overlays/T10_c1/0000.png"));
  EXPECT_NE(first.at("overlays/T10_c0/0000.png"), first.at("overlays/T10_c0/0001.png"));

  // Reporting again into the same site draws nothing and changes nothing.
  ImageOptions io;
  io.threads = 3;
  const ReportOutcome again = write_report({run.run_dir, {}, {}}, root + "/site_1", io);
  EXPECT_EQ(again.images.overlays, 0u);
  EXPECT_EQ(again.images.reused, 16u);
  EXPECT_TRUE(site_files(root + "/site_1") == first);
}

}  // namespace
}  // namespace ldmg::report
