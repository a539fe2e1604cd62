#include "io/png_writer.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::io {

namespace {

// libpng reports errors through a callback that must not return. We copy the
// message into plain storage and longjmp to the setjmp of the calling
// function, whose frame holds only trivially destructible locals between
// setjmp and the libpng calls; the exception is thrown after the jump.
struct PngState {
  char message[256] = {0};
  std::string out;      // encoder output (owned by the caller's frame)
  std::string_view in;  // decoder input
  std::size_t in_pos = 0;
};

void on_error(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(st->message, sizeof(st->message), "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

void on_write(png_structp png, png_bytep data, png_size_t n) {
  static_cast<PngState*>(png_get_io_ptr(png))->out.append(reinterpret_cast<const char*>(data), n);
}
void on_flush(png_structp) {}

void on_read(png_structp png, png_bytep out, png_size_t n) {
  auto* st = static_cast<PngState*>(png_get_io_ptr(png));
  if (st->in.size() - st->in_pos < n) png_error(png, "truncated PNG data");
  std::memcpy(out, st->in.data() + st->in_pos, n);
  st->in_pos += n;
}

}  // namespace

std::string encode_png(int width, int height, int channels, const std::uint8_t* pixels, const std::string& source) {
  LDMG_CHECK(width > 0 && height > 0 && width <= 1 << 20 && height <= 1 << 20, "{}: bad PNG size {}x{}", source, width,
             height);
  LDMG_CHECK(channels == 1 || channels == 3, "{}: PNG output supports 1 or 3 channels, got {}", source, channels);
  LDMG_ASSERT(pixels != nullptr, "null pixels");
  PngState st;
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  const std::size_t stride = static_cast<std::size_t>(width) * channels;
  for (int y = 0; y < height; ++y) rows[y] = const_cast<png_bytep>(pixels + stride * y);

  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  LDMG_CHECK(png != nullptr, "{}: png_create_write_struct failed", source);
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    LDMG_FAIL("{}: png_create_info_struct failed", source);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    LDMG_FAIL("{}: libpng error while encoding: {}", source, st.message);
  }
  png_set_write_fn(png, &st, on_write, on_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 6);
  png_set_rows(png, info, rows.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return std::move(st.out);
}

void write_png_gray(const std::string& path, int width, int height, const std::uint8_t* pixels) {
  write_file_atomic(path, encode_png(width, height, 1, pixels, path));
}

void write_png_rgb(const std::string& path, int width, int height, const std::uint8_t* rgb) {
  write_file_atomic(path, encode_png(width, height, 3, rgb, path));
}

PngPixels decode_png(std::string_view bytes, const std::string& source) {
  LDMG_CHECK(bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0,
             "{}: not a PNG file (bad signature)", source);
  PngState st;
  st.in = bytes;
  PngPixels out;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  LDMG_CHECK(png != nullptr, "{}: png_create_read_struct failed", source);
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    LDMG_FAIL("{}: png_create_info_struct failed", source);
  }
  // Rows are allocated before setjmp so that no object is constructed between
  // setjmp and a longjmp; only their contents change afterwards.
  std::vector<png_bytep> rows;
  int bad_format = 0;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    LDMG_FAIL("{}: libpng error while decoding: {}", source, st.message);
  }
  png_set_read_fn(png, &st, on_read);
  png_read_info(png, info);
  const int depth = png_get_bit_depth(png, info);
  const int color = png_get_color_type(png, info);
  if (depth != 8 || (color != PNG_COLOR_TYPE_GRAY && color != PNG_COLOR_TYPE_RGB)) {
    bad_format = 1;
  } else {
    out.width = static_cast<int>(png_get_image_width(png, info));
    out.height = static_cast<int>(png_get_image_height(png, info));
    out.channels = color == PNG_COLOR_TYPE_GRAY ? 1 : 3;
  }
  if (bad_format) {
    png_destroy_read_struct(&png, &info, nullptr);
    LDMG_FAIL("{}: expected an 8-bit gray or RGB PNG, got bit depth {} colour type {}", source, depth, color);
  }
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * out.channels);
  rows.resize(static_cast<std::size_t>(out.height));
  for (int y = 0; y < out.height; ++y)
    rows[y] = out.pixels.data() + static_cast<std::size_t>(y) * out.width * out.channels;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return out;
}

PngPixels read_png(const std::string& path) { return decode_png(read_file_bytes(path), path); }

}  // namespace ldmg::io
