#include "data/image.h"

// clang-format off
#include <cstdio>   // jpeglib.h needs FILE and size_t first
#include <jpeglib.h>
#include <jerror.h>
// clang-format on
#include <png.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <csetjmp>
#include <filesystem>
#include <cstring>
#include <fstream>

#include "core/check.h"
#include "core/log.h"
#include "data/dicom_image.h"
#include "io/file_bytes.h"

namespace ldmg::data {

namespace {

constexpr unsigned char kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

std::string hex_head(std::string_view head) {
  std::string out;
  for (std::size_t i = 0; i < head.size() && i < 8; ++i)
    out += fmt::format("{}{:02x}", i ? " " : "", static_cast<unsigned char>(head[i]));
  return out.empty() ? "(empty file)" : out;
}

// Collapses a colour row (3 samples per pixel) to one channel.
void collapse_rgb(const std::uint8_t* rgb, std::uint8_t* out, int width, ColorPolicy policy) {
  for (int x = 0; x < width; ++x, rgb += 3) {
    out[x] = policy == ColorPolicy::luma ? pillow_luma(rgb[0], rgb[1], rgb[2]) : rgb[0];
  }
}

const char* policy_hint() {
  return "X-rays are expected to be 8-bit grayscale; choose a colour policy (luma = Pillow's convert('L'), "
         "first_channel = upstream's channel 0) to accept colour images";
}

// ---------------------------------------------------------------- PNG --------
// libpng reports errors through a callback that must not return: it records the
// message and longjmps back to the setjmp in decode_png_raw, whose frame holds
// only trivially destructible locals (the C++ objects live in the caller).

struct PngErrorState {
  std::jmp_buf jump;
  char message[512] = {0};
  const std::string* source = nullptr;
};

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* state = static_cast<PngErrorState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof(state->message), "%s", msg ? msg : "unknown libpng error");
  std::longjmp(state->jump, 1);
}

void png_warning_fn(png_structp png, png_const_charp msg) {
  auto* state = static_cast<PngErrorState*>(png_get_error_ptr(png));
  log::debug("libpng warning for '{}': {}", *state->source, msg ? msg : "");
}

struct PngMemReader {
  const unsigned char* data;
  std::size_t size;
  std::size_t pos;
};

void png_read_fn(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<PngMemReader*>(png_get_io_ptr(png));
  if (n > r->size - r->pos) png_error(png, "file is truncated (read past the end of the data)");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

struct PngHeader {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
};

// Everything with a destructor lives here, in the caller's frame, never in the
// frame that calls setjmp.
struct PngDecodeContext {
  PngErrorState* state;
  const ImageOptions* options;
  PngHeader hdr;
  std::vector<unsigned char> buffer;
  std::vector<png_bytep> rows;
};

// Checks the header against the options and allocates the output rows.
bool png_alloc(PngDecodeContext* ctx, std::size_t row_bytes) {
  const PngHeader& hdr = ctx->hdr;
  const bool color = (hdr.color_type & PNG_COLOR_MASK_COLOR) != 0;
  if (color && ctx->options->color == ColorPolicy::reject) {
    std::snprintf(ctx->state->message, sizeof(ctx->state->message), "colour PNG (colour type %d); %s",
                  hdr.color_type, policy_hint());
    return false;
  }
  if (hdr.bit_depth == 16 && (color || !ctx->options->allow_16bit)) {
    std::snprintf(ctx->state->message, sizeof(ctx->state->message), "16-bit %s PNG is not supported%s",
                  color ? "colour" : "grayscale", color ? "" : " (allow_16bit is off)");
    return false;
  }
  try {
    ctx->buffer.resize(row_bytes * hdr.height);
    ctx->rows.resize(hdr.height);
  } catch (const std::bad_alloc&) {
    std::snprintf(ctx->state->message, sizeof(ctx->state->message), "out of memory for %ux%u pixels",
                  static_cast<unsigned>(hdr.width), static_cast<unsigned>(hdr.height));
    return false;
  }
  for (png_uint_32 y = 0; y < hdr.height; ++y) ctx->rows[y] = ctx->buffer.data() + y * row_bytes;
  return true;
}

// Returns false (with ctx->state->message set) on any libpng error.
bool decode_png_raw(PngMemReader* reader, PngDecodeContext* ctx) {
  PngErrorState* state = ctx->state;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, png_error_fn, png_warning_fn);
  if (!png) {
    std::snprintf(state->message, sizeof(state->message), "png_create_read_struct failed");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(state->message, sizeof(state->message), "png_create_info_struct failed");
    return false;
  }
  if (setjmp(state->jump)) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, reader, png_read_fn);
  png_read_info(png, info);
  PngHeader& hdr = ctx->hdr;
  hdr.width = png_get_image_width(png, info);
  hdr.height = png_get_image_height(png, info);
  hdr.bit_depth = png_get_bit_depth(png, info);
  hdr.color_type = png_get_color_type(png, info);
  // Pillow: palette -> RGB when converted, 1/2/4-bit gray scaled to 0..255,
  // tRNS and gAMA ignored; alpha is dropped under every policy.
  if (hdr.color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (hdr.color_type == PNG_COLOR_TYPE_GRAY && hdr.bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (hdr.color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  if (hdr.bit_depth == 16) png_set_swap(png);  // big-endian file -> native little-endian uint16
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (!png_alloc(ctx, png_get_rowbytes(png, info))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_read_image(png, ctx->rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

GrayImage decode_png(std::string_view bytes, const std::string& source, const ImageOptions& options) {
  static_assert(std::endian::native == std::endian::little, "16-bit PNG decoding assumes a little-endian host");
  PngErrorState state;
  state.source = &source;
  PngMemReader reader{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0};
  PngDecodeContext ctx{&state, &options, {}, {}, {}};
  LDMG_CHECK(decode_png_raw(&reader, &ctx), "cannot decode PNG '{}': {}", source, state.message);

  const PngHeader& hdr = ctx.hdr;
  GrayImage img;
  img.format = ImageFormat::png;
  img.width = static_cast<int>(hdr.width);
  img.height = static_cast<int>(hdr.height);
  const std::size_t n = static_cast<std::size_t>(img.width) * img.height;
  const bool color = (hdr.color_type & PNG_COLOR_MASK_COLOR) != 0;
  if (hdr.bit_depth == 16 && options.keep_16bit) {
    img.bit_depth = 16;
    img.pixels16.resize(n);
    std::memcpy(img.pixels16.data(), ctx.buffer.data(), n * 2);
  } else if (hdr.bit_depth == 16) {
    // round(v * 255 / 65535): 65535 = 255 * 257, and (v + 128) / 257 never ties.
    img.pixels.resize(n);
    std::uint16_t max = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t v;
      std::memcpy(&v, ctx.buffer.data() + 2 * i, 2);
      max = std::max(max, v);
      img.pixels[i] = static_cast<std::uint8_t>((v + 128u) / 257u);
    }
    if (n > 0 && max < 4096)
      log::warn("16-bit PNG '{}' uses only values up to {} (raw detector data?); scaled as full-range 16-bit it is "
                "nearly black: convert it from the DICOM instead (docs/images.md)",
                source, max);
  } else if (color) {
    img.pixels.resize(n);
    for (int y = 0; y < img.height; ++y)
      collapse_rgb(ctx.buffer.data() + static_cast<std::size_t>(y) * img.width * 3,
                   img.pixels.data() + static_cast<std::size_t>(y) * img.width, img.width, options.color);
  } else {
    img.pixels = std::move(ctx.buffer);
  }
  return img;
}

// --------------------------------------------------------------- JPEG --------
// Same pattern: error_exit longjmps to the setjmp in the *_raw functions.

struct JpegErrorState {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64] = {0};
  const std::string* source = nullptr;
  bool truncated = false;
};

void jpeg_error_exit_fn(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<JpegErrorState*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, state->message);
  std::longjmp(state->jump, 1);
}

// Warnings: libjpeg continues after "Premature end of JPEG file" by inventing
// an EOI (grey rows); Pillow refuses truncated files, so we do too. Other
// warnings (extraneous bytes, etc.) Pillow ignores; we log them.
void jpeg_emit_message_fn(j_common_ptr cinfo, int level) {
  auto* state = reinterpret_cast<JpegErrorState*>(cinfo->err);
  if (level >= 0) return;  // trace messages
  char buf[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buf);
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    state->truncated = true;
    std::snprintf(state->message, sizeof(state->message), "%s (file is truncated)", buf);
    std::longjmp(state->jump, 1);
  }
  if (cinfo->err->num_warnings++ == 0) log::warn("libjpeg warning for '{}': {}", *state->source, buf);
}

struct JpegRaw {
  int width = 0, height = 0, components = 0;
  int color_space = 0;
};

// Decodes into storage that `alloc` provides once the output size is known.
// Returns false with state->message set on error.
using JpegAlloc = unsigned char* (*)(void* ctx, const JpegRaw& raw);

bool decode_jpeg_raw(const unsigned char* data, std::size_t size, JpegErrorState* state, JpegAlloc alloc,
                     void* ctx, JpegRaw* raw_out) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&state->mgr);
  state->mgr.error_exit = jpeg_error_exit_fn;
  state->mgr.emit_message = jpeg_emit_message_fn;
  jpeg_create_decompress(&cinfo);
  if (setjmp(state->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  // Pillow's defaults (libImaging/JpegDecode.c leaves them alone).
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  JpegRaw raw;
  raw.color_space = cinfo.jpeg_color_space;
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) {
    cinfo.out_color_space = JCS_RGB;
  } else {
    std::snprintf(state->message, sizeof(state->message),
                  "unsupported JPEG colour space %d (CMYK/YCCK); expected grayscale", cinfo.jpeg_color_space);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_start_decompress(&cinfo);
  raw.width = static_cast<int>(cinfo.output_width);
  raw.height = static_cast<int>(cinfo.output_height);
  raw.components = cinfo.output_components;
  *raw_out = raw;
  unsigned char* out = alloc(ctx, raw);
  if (!out) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  const std::size_t stride = static_cast<std::size_t>(raw.width) * raw.components;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

struct JpegDecodeContext {
  JpegErrorState* state;
  const ImageOptions* options;
  std::vector<unsigned char> buffer;
};

unsigned char* jpeg_alloc(void* ctx_void, const JpegRaw& raw) {
  auto* ctx = static_cast<JpegDecodeContext*>(ctx_void);
  if (raw.components != 1 && ctx->options->color == ColorPolicy::reject) {
    std::snprintf(ctx->state->message, sizeof(ctx->state->message), "colour JPEG (%d components); %s",
                  raw.components, policy_hint());
    return nullptr;
  }
  try {
    ctx->buffer.resize(static_cast<std::size_t>(raw.width) * raw.height * raw.components);
  } catch (const std::bad_alloc&) {
    std::snprintf(ctx->state->message, sizeof(ctx->state->message), "out of memory for %dx%d pixels", raw.width,
                  raw.height);
    return nullptr;
  }
  return ctx->buffer.data();
}

GrayImage decode_jpeg(std::string_view bytes, const std::string& source, const ImageOptions& options) {
  JpegErrorState state;
  state.source = &source;
  JpegDecodeContext ctx{&state, &options, {}};
  JpegRaw raw;
  const bool ok = decode_jpeg_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &state,
                                  jpeg_alloc, &ctx, &raw);
  LDMG_CHECK(ok, "cannot decode JPEG '{}': {}", source, state.message);
  GrayImage img;
  img.format = ImageFormat::jpeg;
  img.width = raw.width;
  img.height = raw.height;
  if (raw.components == 1) {
    img.pixels = std::move(ctx.buffer);
  } else {
    LDMG_ASSERT(raw.components == 3, "libjpeg returned {} components for RGB output", raw.components);
    img.pixels.resize(static_cast<std::size_t>(raw.width) * raw.height);
    for (int y = 0; y < raw.height; ++y)
      collapse_rgb(ctx.buffer.data() + static_cast<std::size_t>(y) * raw.width * 3,
                   img.pixels.data() + static_cast<std::size_t>(y) * raw.width, raw.width, options.color);
  }
  return img;
}

// JPEG header only: walks the markers up to the first SOFn.
ImageSize jpeg_size_from_stream(std::ifstream& in, const std::string& path) {
  auto get = [&]() -> int {
    const int c = in.get();
    LDMG_CHECK(c != EOF, "cannot read the JPEG header of '{}': file ends before a frame header (SOF)", path);
    return c;
  };
  in.seekg(2);
  for (;;) {
    int c = get();
    LDMG_CHECK(c == 0xFF, "cannot read the JPEG header of '{}': expected a marker (0xFF) at byte {}, got 0x{:02x}",
               path, static_cast<long long>(in.tellg()) - 1, c);
    int marker = get();
    while (marker == 0xFF) marker = get();  // fill bytes
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // no payload
    LDMG_CHECK(marker != 0xD9 && marker != 0xDA,
               "cannot read the JPEG header of '{}': no frame header (SOF) before {}", path,
               marker == 0xD9 ? "end of image" : "start of scan");
    const int len = (get() << 8) | get();
    LDMG_CHECK(len >= 2, "cannot read the JPEG header of '{}': marker 0x{:02x} has length {}", path, marker, len);
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      LDMG_CHECK(len >= 8, "cannot read the JPEG header of '{}': frame header too short ({} bytes)", path, len);
      get();  // precision
      const int h = (get() << 8) | get();
      const int w = (get() << 8) | get();
      LDMG_CHECK(w > 0 && h > 0, "cannot read the JPEG header of '{}': frame size {}x{}", path, w, h);
      return {w, h, ImageFormat::jpeg};
    }
    in.seekg(len - 2, std::ios::cur);
    LDMG_CHECK(in.good(), "cannot read the JPEG header of '{}': truncated inside marker 0x{:02x}", path, marker);
  }
}

bool has_dcm_extension(const std::string& name) {
  if (name.size() < 4) return false;
  std::string ext = name.substr(name.size() - 4);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".dcm";
}

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

const char* to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::png:
      return "PNG";
    case ImageFormat::jpeg:
      return "JPEG";
    case ImageFormat::dicom:
      return "DICOM";
  }
  return "?";
}

const char* to_string(DicomConversion conversion) {
  return conversion == DicomConversion::mimic_jpg ? "mimic_jpg" : "window";
}

DicomConversion parse_dicom_conversion(const std::string& value, const std::string& what) {
  if (value == "mimic_jpg") return DicomConversion::mimic_jpg;
  if (value == "window") return DicomConversion::window;
  LDMG_FAIL("{}: '{}' is not a DICOM conversion; expected mimic_jpg or window", what, value);
}

ImageFormat detect_image_format(std::string_view head, const std::string& source) {
  if (head.size() >= 8 && std::memcmp(head.data(), kPngMagic, 8) == 0) return ImageFormat::png;
  if (head.size() >= 3 && static_cast<unsigned char>(head[0]) == 0xFF && static_cast<unsigned char>(head[1]) == 0xD8 &&
      static_cast<unsigned char>(head[2]) == 0xFF)
    return ImageFormat::jpeg;
  if (head.size() >= 132 && std::memcmp(head.data() + 128, "DICM", 4) == 0) return ImageFormat::dicom;
  if (has_dcm_extension(source)) return ImageFormat::dicom;  // DICOM without the preamble
  LDMG_FAIL("'{}' is neither a PNG, a JPEG nor a DICOM file (first bytes: {}; no 'DICM' at offset 128, name not "
            "ending in .dcm); the format is detected from the content",
            source, hex_head(head));
}

GrayImage decode_image(std::string_view bytes, const std::string& source, const ImageOptions& options) {
  switch (detect_image_format(bytes, source)) {
    case ImageFormat::png:
      return decode_png(bytes, source, options);
    case ImageFormat::jpeg:
      return decode_jpeg(bytes, source, options);
    case ImageFormat::dicom:
      return decode_dicom(bytes, source, options);
  }
  LDMG_ASSERT(false, "unreachable image format");
  return {};
}

GrayImage read_image(const std::string& path, const ImageOptions& options) {
  const std::string bytes = io::read_file_bytes(path);
  return decode_image(bytes, path, options);
}

ImageSize read_image_size(const std::string& path) {
  std::error_code ec;
  LDMG_CHECK(std::filesystem::is_regular_file(path, ec), "image not found (or not a regular file): '{}'", path);
  std::ifstream in(path, std::ios::binary);
  LDMG_CHECK(in, "cannot open image '{}': {}", path, std::strerror(errno));
  unsigned char head[132] = {0};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  const auto got = static_cast<std::size_t>(in.gcount());
  const ImageFormat format = detect_image_format(std::string_view(reinterpret_cast<char*>(head), got), path);
  if (format == ImageFormat::png) {
    // Signature, then the IHDR chunk: length 13, "IHDR", width, height (big-endian).
    LDMG_CHECK(got >= 24 && be32(head + 8) == 13 && std::memcmp(head + 12, "IHDR", 4) == 0,
               "cannot read the PNG header of '{}': IHDR chunk missing or truncated", path);
    const std::uint32_t w = be32(head + 16), h = be32(head + 20);
    LDMG_CHECK(w > 0 && h > 0 && w <= 0x7fffffffu && h <= 0x7fffffffu,
               "cannot read the PNG header of '{}': invalid size {}x{}", path, w, h);
    return {static_cast<int>(w), static_cast<int>(h), ImageFormat::png};
  }
  if (format == ImageFormat::dicom) return read_dicom_size(path);
  in.clear();
  return jpeg_size_from_stream(in, path);
}

}  // namespace ldmg::data
