#pragma once
// Test helper: writes a one-frame grayscale DICOM with GDCM itself, so that
// the reader is tested on files whose every value the test chose.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ldmg::test {

struct DicomSpec {
  int width = 0;
  int height = 0;
  std::vector<std::uint16_t> pixels;  // row-major stored values
  int bits_stored = 16;
  bool monochrome1 = false;
  // gdcm::TransferSyntax::TSType; ExplicitVRLittleEndian (2) when unset.
  std::optional<int> transfer_syntax;
  std::string window_center;  // DS text, e.g. "500" or "500\\1000"; empty: absent
  std::string window_width;
  std::string voi_lut_function;
  std::string rescale_slope;  // DS text; empty: absent
  std::string rescale_intercept;
  std::string pixel_spacing;  // "0.139\\0.139"
  std::string imager_pixel_spacing;
  std::string view_position;
  std::string patient_orientation;
};

// Writes `spec` to `path` (uncompressed, or through GDCM's encoder for the
// transfer syntax); fails the calling test through a thrown std::runtime_error.
void write_dicom(const std::string& path, const DicomSpec& spec);

}  // namespace ldmg::test
