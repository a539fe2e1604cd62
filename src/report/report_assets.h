#pragma once
// The report page (src/report/assets/: index.html, report.css, report.js),
// embedded into the binary at build time by embed_assets.cmake.
#include <string>
#include <vector>

namespace ldmg::report {

struct EmbeddedAsset {
  std::string name;   // file name in the site, e.g. "report.js"
  std::string bytes;  // the file as in the source tree
};

const std::vector<EmbeddedAsset>& embedded_assets();

}  // namespace ldmg::report
