#pragma once
// The report as a static site that opens from the file system (no server,
// no network): index.html, report.css and report.js (embedded assets),
// data.js (`window.LDMG_REPORT = {...};`, report_data.h: file:// pages may
// not fetch() JSON but may load scripts), thumbs/ and overlays/
// (report_images.h) and figures/ (PNGs of the analysis folders, copied).
#include <nlohmann/json.hpp>
#include <string>

#include "report/report_data.h"
#include "report/report_images.h"

namespace ldmg::report {

// Writes the page, data.js and figures/ into `site_dir` (created); fills
// data's figures[].src. Returns the path of index.html.
std::string write_report_site(nlohmann::json data, const std::string& site_dir);

struct ReportOutcome {
  std::string index_html;
  std::size_t rows = 0, sources = 0, figures = 0;
  bool complete = false;
  ImageStats images;
};

// gather_report_data + write_report_images + write_report_site.
ReportOutcome write_report(const ReportInputs& inputs, const std::string& site_dir, const ImageOptions& options = {});

}  // namespace ldmg::report
