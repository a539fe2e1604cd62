#include "report/report_site.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/check.h"
#include "io/file_bytes.h"
#include "report/report_assets.h"

namespace ldmg::report {

namespace fs = std::filesystem;
using nlohmann::json;

std::string write_report_site(json data, const std::string& site_dir) {
  fs::create_directories(site_dir);
  for (const EmbeddedAsset& a : embedded_assets())
    io::write_file_atomic((fs::path(site_dir) / a.name).string(), a.bytes);
  if (data.contains("figures")) {
    int n = 0;
    for (json& f : data["figures"]) {
      const fs::path from = f.at("file").get<std::string>();
      const std::string rel = fmt::format("figures/{:03d}_{}", n++, from.filename().string());
      fs::create_directories(fs::path(site_dir) / "figures");
      fs::copy_file(from, fs::path(site_dir) / rel, fs::copy_options::overwrite_existing);
      f["src"] = rel;
      f.erase("file");
    }
  }
  // Invalid UTF-8 in a prompt must not stop the report: replaced, not thrown.
  const std::string js = "window.LDMG_REPORT = " + data.dump(-1, ' ', false, json::error_handler_t::replace) + ";\n";
  io::write_file_atomic((fs::path(site_dir) / "data.js").string(), js);
  return (fs::path(site_dir) / "index.html").string();
}

ReportOutcome write_report(const ReportInputs& inputs, const std::string& site_dir, const ImageOptions& options) {
  json data = gather_report_data(inputs);
  ReportOutcome out;
  out.images = write_report_images(data, site_dir, options);
  out.rows = data["rows"].size();
  out.sources = data["sources"].size();
  out.figures = data["figures"].size();
  out.complete = data["run"]["complete"].get<bool>();
  out.index_html = write_report_site(std::move(data), site_dir);
  return out;
}

}  // namespace ldmg::report
