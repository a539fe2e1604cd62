#pragma once
// Decoding chest X-ray files (PNG via libpng, JPEG via libjpeg-turbo) into a
// grayscale raster, bit-identical to what Pillow gives the upstream loader
// (official/data/utils.py:133-144, MONAI PILReader -> np.asarray).
//
// Format is detected from the magic bytes, never from the extension.
// Pillow-equivalence: JPEG uses libjpeg's defaults (JDCT_ISLOW, fancy
// upsampling), as Pillow does; grayscale JPEGs and 8-bit grayscale PNGs are
// returned exactly as stored; PNG gamma chunks are ignored (Pillow ignores them).
//
// Colour inputs (RGB / palette PNG, YCbCr JPEG) follow ColorPolicy. Upstream
// keeps channel 0 (`x[0, :, :]` after EnsureChannelFirst), i.e. red for RGB and
// palette *indices* for palette PNGs; Pillow's convert("L") would give luma.
// Alpha channels are dropped (channel 0 of LA is L under every policy).
// 16-bit grayscale PNGs decode to bit_depth 16 (pixels16); preprocessing maps
// them to [0,1] as v/65535 (upstream would compute v/255 clipped to 1, i.e. a
// white image, so there is no faithful choice to keep). 16-bit colour PNGs and
// CMYK / 12-bit JPEGs are rejected.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::data {

enum class ImageFormat { png, jpeg };

// How colour images become one channel.
enum class ColorPolicy {
  reject,         // throw ldmg::Error naming the file (default: X-rays are gray)
  luma,           // Pillow's convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
  first_channel,  // upstream's x[0]: the red channel (palette PNGs: expanded to RGB first)
};

struct ImageOptions {
  ColorPolicy color = ColorPolicy::reject;
  bool allow_16bit = true;  // 16-bit gray PNG -> bit_depth 16; false: throw
};

// Row-major grayscale raster, index = y * width + x.
struct GrayImage {
  int width = 0;
  int height = 0;
  int bit_depth = 8;                    // 8: `pixels`; 16: `pixels16`
  std::vector<std::uint8_t> pixels;     // bit_depth 8
  std::vector<std::uint16_t> pixels16;  // bit_depth 16
  ImageFormat format = ImageFormat::png;
};

struct ImageSize {
  int width = 0;
  int height = 0;
  ImageFormat format = ImageFormat::png;
};

// Reads and decodes `path`. Corrupt, truncated or unsupported files throw
// ldmg::Error naming the file and the codec's own message.
GrayImage read_image(const std::string& path, const ImageOptions& options = {});

// Decodes in-memory bytes; `source` names them in error messages.
GrayImage decode_image(std::string_view bytes, const std::string& source, const ImageOptions& options = {});

// Width and height from the header only (PNG IHDR / JPEG SOF), without decoding.
ImageSize read_image_size(const std::string& path);

// Which format the leading bytes announce; throws if neither PNG nor JPEG.
ImageFormat detect_image_format(std::string_view head, const std::string& source);

const char* to_string(ImageFormat format);

// Pillow's ITU-R 601-2 luma, fixed point (libImaging/Convert.c rgb2l).
inline std::uint8_t pillow_luma(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return static_cast<std::uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

}  // namespace ldmg::data
