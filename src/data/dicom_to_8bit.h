#pragma once
// Stored DICOM pixel values -> the 8-bit raster the model sees, the two ways
// docs/images.md describes. Pure functions over plain vectors (no DICOM
// library), so that each step is tested against hand-computed values.
#include <cstdint>
#include <string>
#include <vector>

namespace ldmg::data {

// MIMIC-CXR-JPG's normalisation (dcm2img, MIT-LCP/mimic-cxr issue #16):
// (v - min) / max(v - min) in float64, times 255, truncated to uint8, in that
// order (numpy's). A constant image (max == min) gives all zeros, where numpy
// would compute 0/0.
std::vector<std::uint8_t> min_max_to_8bit(const std::vector<std::int32_t>& stored);

// OpenCV's cv2.equalizeHist on an 8-bit raster, in place: the lowest occupied
// level maps to 0, level i to round(255 * (count of pixels in (lowest, i]) /
// (count of pixels above the lowest level))) with the scale in float32 and
// round-half-to-even, as OpenCV computes it; an image of one level keeps it.
void equalize_histogram(std::vector<std::uint8_t>& pixels);

// DICOM VOI LUT Function (PS3.3 C.11.2.1.2): LINEAR (the default),
// LINEAR_EXACT or SIGMOID. Anything else throws, naming `source`.
enum class VoiFunction { linear, linear_exact, sigmoid };
VoiFunction parse_voi_function(const std::string& value, const std::string& source);
const char* to_string(VoiFunction f);

// One window of the VOI LUT module, applied to modality values
// x = stored * slope + intercept, mapped to 0..255 (PS3.3 C.11.2.1.2.1-3 with
// y_min = 0, y_max = 255), rounded half up. width must be >= 1 (> 0 for
// LINEAR_EXACT and SIGMOID).
struct VoiWindow {
  double center = 0;
  double width = 0;
  VoiFunction function = VoiFunction::linear;
};
std::uint8_t apply_voi_window(double x, const VoiWindow& window);

// Without a window: min-max of the modality values to 0..255, rounded half up
// (the "window" conversion's fallback).
std::vector<std::uint8_t> modality_min_max_to_8bit(const std::vector<double>& values);

// MONOCHROME1 (low values bright): 255 - v, in place (cv2.bitwise_not).
void invert_8bit(std::vector<std::uint8_t>& pixels);

}  // namespace ldmg::data
