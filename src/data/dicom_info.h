#pragma once
// What a DICOM file said about its image, and how we turned it into 8 bits:
// returned with the decoded image (GrayImage::dicom) and written into
// provenance (ground.json "image"), so that an output names the pixel grid's
// physical size and orientation and the conversion that produced its input.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ldmg::data {

struct DicomInfo {
  std::string transfer_syntax;       // UID, e.g. 1.2.840.10008.1.2.4.80
  std::string transfer_syntax_name;  // e.g. "JPEG-LS Lossless Image Compression"
  std::string photometric;           // MONOCHROME1 | MONOCHROME2
  std::string modality;              // (0008,0060), e.g. CR, DX
  int bits_allocated = 0;
  int bits_stored = 0;
  bool pixel_signed = false;  // PixelRepresentation 1
  double rescale_slope = 1;   // Modality LUT (0028,1053); 1 when absent
  double rescale_intercept = 0;
  std::vector<double> window_center;              // (0028,1050), every value in the file
  std::vector<double> window_width;               // (0028,1051)
  std::string voi_lut_function;                   // (0028,1056), empty when absent (LINEAR)
  bool has_voi_lut_sequence = false;              // (0028,3010): table VOI LUTs, not applied
  std::vector<double> pixel_spacing;              // (0028,0030) row, column spacing in mm; empty when absent
  std::vector<double> imager_pixel_spacing;       // (0018,1164) at the detector, mm
  std::string view_position;                      // (0018,5101), e.g. PA, AP, LATERAL
  std::string patient_orientation;                // (0020,0020), e.g. "P\F" (row, column directions)
  std::vector<double> image_orientation_patient;  // (0020,0037), six direction cosines; empty when absent
  int stored_min = 0;                             // range of the stored values actually present
  int stored_max = 0;
  // The conversion applied: "mimic_jpg" or "window" (with `window_used`
  // describing the window, or "min-max" when the file had none).
  std::string conversion;
  std::string window_used;
};

nlohmann::json dicom_info_json(const DicomInfo& info);

}  // namespace ldmg::data
