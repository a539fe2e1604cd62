#pragma once
// A synthetic MS-CXR-style dataset for `ldmground demo`: chest-like PNGs of
// different, non-square sizes with 1-2 findings each, and a CSV in the
// MS-CXR v1.1.0 layout (data/ms_cxr.h) whose boxes enclose the findings and
// whose label_text describes them (side and zone as drawn). Some images have
// two sentences (two pairs); bilateral findings (Edema) give one pair with
// two boxes (two CSV rows, merged by the reader).
#include <cstdint>
#include <filesystem>
#include <string>

namespace ldmg::demo {

struct DemoDatasetOptions {
  int images = 8;  // with >= 8 every category appears once as a first finding
  std::uint64_t seed = 7;
};

struct DemoDataset {
  std::string csv;          // <dir>/ms_cxr.csv
  std::string images_root;  // <dir>/images (CSV paths are relative to it)
  int pairs = 0;            // (image, sentence) pairs after merging
  int images = 0;
};

// Writes <dir>/ms_cxr.csv and <dir>/images/files/p10/p10NNNNNN/s5NNNNNNN/<dicom_id>.png.
// Same options -> identical bytes.
DemoDataset write_demo_dataset(const std::filesystem::path& dir, const DemoDatasetOptions& options = {});

}  // namespace ldmg::demo
