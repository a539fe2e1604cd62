#pragma once
// The DICOM of the --dicom-conversion tests: 36 x 36, 12-bit MONOCHROME2,
// window center 500 / width 201, each pixel one of nine stored values by
// (x + y) mod 9, so that every value covers 144 pixels and both conversions
// can be computed by hand:
//   stored           0  399  400  450  500  550  599  600 4095
//   window           0    0    1   64  128  192  254  255  255   (LINEAR, PS3.3 C.11.2.1.2)
//   mimic_jpg        0   64   64   96  128  159  223  223  255   (min-max, truncated, equalised)
// mimic_jpg: floor(v * 255 / 4095) = 0, 24, 24, 28, 31, 34, 37, 37, 255;
// OpenCV's equalisation: the lowest level (144 px) -> 0, level i ->
// round(255 * (pixels in (0, i]) / 1152): 288 -> 63.75 -> 64, 432 -> 95.6 ->
// 96, 576 -> 127.5 -> 128 (half to even), 720 -> 159.4, 1008 -> 223.1, 1152.
// The window values are those of DicomToEightBit.VoiWindowsHandComputed.
#include <array>
#include <cstdint>

#include "dicom_writer.h"

namespace ldmg::test {

inline constexpr int kPatternSide = 36;
inline constexpr std::array<std::uint16_t, 9> kPatternStored = {0, 399, 400, 450, 500, 550, 599, 600, 4095};
inline constexpr std::array<std::uint8_t, 9> kPatternWindow = {0, 0, 1, 64, 128, 192, 254, 255, 255};
inline constexpr std::array<std::uint8_t, 9> kPatternMimicJpg = {0, 64, 64, 96, 128, 159, 223, 223, 255};

inline int pattern_level(int x, int y) { return (x + y) % 9; }

inline DicomSpec window_pattern_spec() {
  DicomSpec s;
  s.width = kPatternSide;
  s.height = kPatternSide;
  s.bits_stored = 12;
  s.window_center = "500";
  s.window_width = "201";
  s.pixels.resize(static_cast<std::size_t>(kPatternSide) * kPatternSide);
  for (int y = 0; y < kPatternSide; ++y)
    for (int x = 0; x < kPatternSide; ++x) s.pixels[y * kPatternSide + x] = kPatternStored[pattern_level(x, y)];
  return s;
}

}  // namespace ldmg::test
