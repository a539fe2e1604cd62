#pragma once
// Decoding chest X-ray files (PNG via libpng, JPEG via libjpeg-turbo, DICOM
// via GDCM) into a grayscale raster. PNG and JPEG are bit-identical to what
// Pillow gives the upstream loader (official/data/utils.py:133-144, MONAI
// PILReader -> np.asarray); DICOM is converted to 8 bits the way MIMIC-CXR-JPG
// made its JPEGs (data/dicom_image.h, docs/images.md).
//
// Format is detected from the magic bytes (PNG signature, JPEG SOI, "DICM" at
// offset 128); a file without any of them is read as DICOM only when its name
// ends in .dcm (DICOM files without the 128-byte preamble exist).
// Pillow-equivalence: JPEG uses libjpeg's defaults (JDCT_ISLOW, fancy
// upsampling), as Pillow does; grayscale JPEGs and 8-bit grayscale PNGs are
// returned exactly as stored; PNG gamma chunks are ignored (Pillow ignores them).
//
// Colour inputs (RGB / palette PNG, YCbCr JPEG) follow ColorPolicy. Upstream
// keeps channel 0 (`x[0, :, :]` after EnsureChannelFirst), i.e. red for RGB and
// palette *indices* for palette PNGs; Pillow's convert("L") would give luma.
// Alpha channels are dropped (channel 0 of LA is L under every policy).
// 16-bit grayscale PNGs become 8-bit as round(v * 255 / 65535) = (v + 128) / 257
// in integers (upstream would compute v/255 clipped to 1, i.e. a white image,
// so there is no faithful choice to keep; the model was trained on 8-bit
// JPEGs); keep_16bit returns them as bit_depth 16 instead (pixels16, mapped to
// [0,1] as v/65535 by preprocessing). 16-bit colour PNGs and CMYK / 12-bit
// JPEGs are rejected.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/dicom_info.h"

namespace ldmg::data {

enum class ImageFormat { png, jpeg, dicom };

// How colour images become one channel.
enum class ColorPolicy {
  reject,         // throw ldmg::Error naming the file (default: X-rays are gray)
  luma,           // Pillow's convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
  first_channel,  // upstream's x[0]: the red channel (palette PNGs: expanded to RGB first)
};

// How DICOM stored values become 8 bits (docs/images.md).
enum class DicomConversion {
  mimic_jpg,  // MIMIC-CXR-JPG's dcm2img: min-max of the stored values, MONOCHROME1 inverted, histogram equalised
  window,     // Modality LUT, then the file's first VOI window (PS3.3 C.11.2.1.2), MONOCHROME1 inverted
};

struct ImageOptions {
  ColorPolicy color = ColorPolicy::reject;
  bool allow_16bit = true;  // false: a 16-bit gray PNG throws
  bool keep_16bit = false;  // true: a 16-bit gray PNG stays bit_depth 16 (pixels16) instead of 8-bit
  DicomConversion dicom = DicomConversion::mimic_jpg;
};

// Row-major grayscale raster, index = y * width + x.
struct GrayImage {
  int width = 0;
  int height = 0;
  int bit_depth = 8;                    // 8: `pixels`; 16: `pixels16`
  std::vector<std::uint8_t> pixels;     // bit_depth 8
  std::vector<std::uint16_t> pixels16;  // bit_depth 16
  ImageFormat format = ImageFormat::png;
  std::optional<DicomInfo> dicom;       // DICOM: header facts and the conversion applied
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

// Width and height from the header only (PNG IHDR / JPEG SOF / DICOM Rows and
// Columns), without decoding.
ImageSize read_image_size(const std::string& path);

// Which format the leading bytes (at least 132 for DICOM) announce, or DICOM
// for a `source` ending in .dcm; throws otherwise.
ImageFormat detect_image_format(std::string_view head, const std::string& source);

const char* to_string(ImageFormat format);
const char* to_string(DicomConversion conversion);
// "mimic_jpg" | "window"; throws naming `what` otherwise.
DicomConversion parse_dicom_conversion(const std::string& value, const std::string& what);

// Pillow's ITU-R 601-2 luma, fixed point (libImaging/Convert.c rgb2l).
inline std::uint8_t pillow_luma(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return static_cast<std::uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

}  // namespace ldmg::data
