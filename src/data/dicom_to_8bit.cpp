#include "data/dicom_to_8bit.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/check.h"

namespace ldmg::data {

namespace {

std::uint8_t round_to_8bit(double y) { return static_cast<std::uint8_t>(std::clamp(std::floor(y + 0.5), 0.0, 255.0)); }

}  // namespace

std::vector<std::uint8_t> min_max_to_8bit(const std::vector<std::int32_t>& stored) {
  std::vector<std::uint8_t> out(stored.size(), 0);
  if (stored.empty()) return out;
  const auto [lo, hi] = std::minmax_element(stored.begin(), stored.end());
  const double min = *lo;
  const double range = static_cast<double>(*hi) - min;
  if (range == 0) return out;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    // numpy: raw / raw.max() (float64), * 255, astype(uint8) truncates; the
    // same operations in the same order give the same bits.
    const double normalized = (static_cast<double>(stored[i]) - min) / range;
    out[i] = static_cast<std::uint8_t>(normalized * 255.0);
  }
  return out;
}

// The algorithm of OpenCV's equalizeHist (imgproc/src/histogram.cpp), written
// from its behaviour: the first occupied bin maps to 0, and the cumulative
// count above it is scaled by 255 / (pixels above it) in float32.
void equalize_histogram(std::vector<std::uint8_t>& pixels) {
  if (pixels.empty()) return;
  std::array<std::size_t, 256> hist{};
  for (const std::uint8_t v : pixels) ++hist[v];
  int first = 0;
  while (hist[first] == 0) ++first;
  if (hist[first] == pixels.size()) return;  // one level: OpenCV fills it with that level
  const float scale = 255.0f / static_cast<float>(pixels.size() - hist[first]);
  std::array<std::uint8_t, 256> lut{};
  std::size_t sum = 0;
  for (int i = first + 1; i < 256; ++i) {
    sum += hist[i];
    // saturate_cast<uchar>(float) rounds half to even (cvRound -> lrint).
    const long r = std::lrint(static_cast<float>(sum) * scale);
    lut[i] = static_cast<std::uint8_t>(std::clamp(r, 0L, 255L));
  }
  for (std::uint8_t& v : pixels) v = lut[v];
}

VoiFunction parse_voi_function(const std::string& value, const std::string& source) {
  if (value.empty() || value == "LINEAR") return VoiFunction::linear;
  if (value == "LINEAR_EXACT") return VoiFunction::linear_exact;
  if (value == "SIGMOID") return VoiFunction::sigmoid;
  LDMG_FAIL("'{}': VOI LUT Function (0028,1056) '{}' is not one of LINEAR, LINEAR_EXACT, SIGMOID", source, value);
}

const char* to_string(VoiFunction f) {
  switch (f) {
    case VoiFunction::linear:
      return "LINEAR";
    case VoiFunction::linear_exact:
      return "LINEAR_EXACT";
    case VoiFunction::sigmoid:
      return "SIGMOID";
  }
  return "?";
}

std::uint8_t apply_voi_window(double x, const VoiWindow& w) {
  const double c = w.center;
  const double width = w.width;
  switch (w.function) {
    case VoiFunction::linear: {  // C.11.2.1.2.1
      if (x <= c - 0.5 - (width - 1) / 2) return 0;
      if (x > c - 0.5 + (width - 1) / 2) return 255;
      return round_to_8bit(((x - (c - 0.5)) / (width - 1) + 0.5) * 255.0);
    }
    case VoiFunction::linear_exact: {  // C.11.2.1.3.2
      if (x <= c - width / 2) return 0;
      if (x > c + width / 2) return 255;
      return round_to_8bit(((x - c) / width + 0.5) * 255.0);
    }
    case VoiFunction::sigmoid:  // C.11.2.1.3.1
      return round_to_8bit(255.0 / (1.0 + std::exp(-4.0 * (x - c) / width)));
  }
  return 0;
}

std::vector<std::uint8_t> modality_min_max_to_8bit(const std::vector<double>& values) {
  std::vector<std::uint8_t> out(values.size(), 0);
  if (values.empty()) return out;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const double range = *hi - *lo;
  if (range == 0) return out;
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = round_to_8bit((values[i] - *lo) / range * 255.0);
  return out;
}

void invert_8bit(std::vector<std::uint8_t>& pixels) {
  for (std::uint8_t& v : pixels) v = static_cast<std::uint8_t>(255 - v);
}

}  // namespace ldmg::data
