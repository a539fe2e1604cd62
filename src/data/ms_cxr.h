#pragma once
// The MS-CXR phrase-grounding set (PhysioNet `ms-cxr`,
// MS_CXR_Local_Alignment_v1.0.0.csv / v1.1.0), read the way the authors'
// loader reads it (official/data/ms_cxr.py:11-31; QUIRKS.md §7).
//
// Required columns: dicom_id, category_name, label_text, path, x, y, w, h,
// image_width, image_height. Other columns (v1.1.0's `split`, ...) are allowed
// and ignored, except that `split` is kept per pair when present.
//
// Merging: rows with the same (path, label_text) form one Pair whose boxes are
// in CSV order; dicom_id, category and the CSV image size come from the first
// row; pairs are in order of first appearance (pandas groupby + drop_duplicates
// keep="first"). Identical rows give identical boxes twice, as upstream.
//
// Validation (every error names the file, the row and the column):
//  - dicom_id, category_name, label_text, path must be non-empty;
//  - x, y, w, h, image_width, image_height must be finite integers; x, y >= 0,
//    w, h, image_width, image_height > 0 (NaN, "abc", 1.5, -3 are errors);
//  - a box reaching beyond image_width x image_height is kept and logged (the
//    upstream raster silently clips it, as Python slicing does; a box entirely
//    outside then normally fails box survival) unless strict_bounds is set,
//    which makes it an error;
//  - `path` must be relative and must not contain "..": it is resolved under
//    images_root, and after resolving symlinks it must still lie inside
//    images_root (checked on the existing part of the path).
//
// Images may be JPEG/PNG or DICOM (`.dcm`, data/dicom_image.h). MIMIC-CXR
// (DICOM) and MIMIC-CXR-JPG share their layout and pixel grid: files/pXX/
// pSUBJECT/sSTUDY/DICOM_ID.dcm beside .jpg, the JPGs were not resized, so the
// CSV's boxes hold for either. With an images root, a `.jpg` path that does not
// exist there while the same path with `.dcm` does is resolved to the `.dcm`
// (the published CSV used with a MIMIC-CXR DICOM root); Pair::path keeps the
// CSV's text.
#include <string>
#include <vector>

#include "data/box.h"
#include "data/csv.h"

namespace ldmg::data {

struct Pair {
  int index = 0;           // 0-based, in order of first appearance
  std::string dicom_id;    // from the first row
  std::string category;    // category_name of the first row
  std::string prompt;      // label_text
  std::string path;        // as written in the CSV (relative to the MIMIC-CXR-JPG root)
  std::string image_path;  // resolved under images_root (empty if no root was given); may be the .dcm of a .jpg path
  std::string split;       // v1.1.0 `split` of the first row, empty if the column is absent
  std::vector<Box> boxes;  // CSV order, all rows of the group
  int csv_width = 0;       // image_width of the first row (used for the box raster)
  int csv_height = 0;      // image_height of the first row
  std::vector<int> rows;   // 1-based CSV data rows merged into this pair
};

struct MsCxrOptions {
  std::string images_root;     // empty: image_path is left empty, no path checks beyond the lexical ones
  bool require_images = false;  // every resolved image must exist (and be a regular file)
  bool strict_bounds = false;   // a box not inside the CSV image size is an error
};

class MsCxrDataset {
 public:
  MsCxrDataset(std::string source, std::vector<Pair> pairs);

  const std::vector<Pair>& pairs() const { return pairs_; }
  std::size_t size() const { return pairs_.size(); }
  const Pair& operator[](std::size_t i) const { return pairs_.at(i); }
  // Category names in order of first appearance over the merged pairs
  // (upstream `df.category_name.unique()` after drop_duplicates).
  const std::vector<std::string>& categories() const { return categories_; }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<Pair> pairs_;
  std::vector<std::string> categories_;
};

MsCxrDataset read_ms_cxr(const std::string& csv_path, const MsCxrOptions& options = {});
MsCxrDataset parse_ms_cxr(const CsvTable& table, const MsCxrOptions& options = {});

// Throws ldmg::Error if `relative` is empty, absolute or has a ".." component.
void check_relative_image_path(const std::string& relative, const std::string& what);

// resolve_under_root for an image named in the MS-CXR CSV: a `.jpg` path that
// does not exist under `root` while its `.dcm` twin does resolves to the `.dcm`
// (MIMIC-CXR DICOM layout); otherwise the path as written.
std::string resolve_image_under_root(const std::string& root, const std::string& relative, const std::string& what);

// `relative` resolved under `root`; throws ldmg::Error if it is absolute, has a
// ".." component, or (after resolving the symlinks that exist) leaves `root`.
// `what` names the origin for messages (e.g. "'ms_cxr.csv' row 12").
std::string resolve_under_root(const std::string& root, const std::string& relative, const std::string& what);

}  // namespace ldmg::data
