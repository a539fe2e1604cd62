#pragma once
// 8-bit grayscale and RGB PNG output through libpng, encoded in memory and
// written atomically; plus a reader of 8-bit gray/RGB PNGs for checking what
// we wrote (tests, analysis). X-ray inputs are decoded by data/image.h.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::io {

// Row-major pixels, `channels` interleaved bytes per pixel (1 = gray, 3 = RGB).
struct PngPixels {
  int width = 0;
  int height = 0;
  int channels = 1;
  std::vector<std::uint8_t> pixels;  // width * height * channels
};

// Encodes width*height*channels bytes (channels 1 or 3); `source` names the
// output in error messages. libpng errors become ldmg::Error.
std::string encode_png(int width, int height, int channels, const std::uint8_t* pixels, const std::string& source);

void write_png_gray(const std::string& path, int width, int height, const std::uint8_t* pixels);
void write_png_rgb(const std::string& path, int width, int height, const std::uint8_t* rgb);

// Decodes an 8-bit gray or RGB PNG (no palette/alpha/16-bit: those throw).
PngPixels decode_png(std::string_view bytes, const std::string& source);
PngPixels read_png(const std::string& path);

}  // namespace ldmg::io
