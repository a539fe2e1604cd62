// Decoding: fixture PNG/JPEG headers and sizes, magic-byte detection, colour
// policies on hand-made PNGs, baseline == progressive JPEG, corrupt and
// truncated files. (Pixel equality with Pillow is checked in test_preprocess.cpp
// through the golden image_512_* tensors, which came from Pillow's decode.)
#include <gtest/gtest.h>
// clang-format off
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#include <png.h>

#include <csetjmp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/check.h"
#include "data/image.h"
#include "io/file_bytes.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::data;
namespace fs = std::filesystem;

namespace {

const char* kPng = "dataset/images/files/p10/p10001112/s50007778/01001e48b93f-20c1af7c.png";
const char* kJpg = "dataset/images/files/p10/p10002223/s50015555/0101077be993-3ec465f5.jpg";

void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Writes a PNG with libpng (test helper; errors abort the test via longjmp + FAIL).
void write_png(const std::string& path, int w, int h, int color_type, int bit_depth, const std::vector<uint8_t>& data,
               const std::vector<png_color>& palette = {}) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(f);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    FAIL() << "libpng write failed";
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, bit_depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  png_write_info(png, info);
  const std::size_t row_bytes = data.size() / h;
  for (int y = 0; y < h; ++y) png_write_row(png, const_cast<png_bytep>(data.data() + y * row_bytes));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

std::string write_jpeg(int w, int h, const std::vector<uint8_t>& gray, bool progressive) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = w;
  c.image_height = h;
  c.input_components = 1;
  c.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(gray.data() + c.next_scanline * w);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);
  return out;
}

using test::expect_error_mentions;

}  // namespace

TEST(Image, FixtureSizesFromHeaderAndDecode) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  struct Case {
    const char* path;
    int w, h;
    ImageFormat f;
  };
  // Sizes as `file(1)` reports them for the fixture images.
  const Case cases[] = {{kPng, 600, 720, ImageFormat::png},
                        {kJpg, 720, 600, ImageFormat::jpeg},
                        {"dataset/images/files/p10/p10006667/s50046663/010531812592-083c2e91.png", 575, 702,
                         ImageFormat::png},
                        {"dataset/images/files/p10/p10005556/s50038886/010423de0d1f-195c42ce.jpg", 800, 640,
                         ImageFormat::jpeg}};
  for (const auto& c : cases) {
    const std::string p = ldmg::test::parity_dir() + "/" + c.path;
    const ImageSize s = read_image_size(p);
    EXPECT_EQ(s.width, c.w) << p;
    EXPECT_EQ(s.height, c.h) << p;
    EXPECT_EQ(s.format, c.f) << p;
    const GrayImage img = read_image(p);
    EXPECT_EQ(img.width, c.w);
    EXPECT_EQ(img.height, c.h);
    EXPECT_EQ(img.bit_depth, 8);
    EXPECT_EQ(img.pixels.size(), static_cast<std::size_t>(c.w) * c.h);
    EXPECT_EQ(img.format, c.f);
  }
}

TEST(Image, FormatComesFromMagicBytesNotExtension) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const std::string dir = ldmg::test::temp_dir("data_magic");
  const std::string png_bytes = io::read_file_bytes(ldmg::test::parity_dir() + "/" + kPng);
  write_bytes(dir + "/really_a_png.jpg", png_bytes);
  const GrayImage a = read_image(dir + "/really_a_png.jpg");
  const GrayImage b = read_image(ldmg::test::parity_dir() + "/" + kPng);
  EXPECT_EQ(a.format, ImageFormat::png);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(read_image_size(dir + "/really_a_png.jpg").format, ImageFormat::png);

  write_bytes(dir + "/text.png", "dicom_id,category_name\n");
  expect_error_mentions([&] { read_image(dir + "/text.png"); },
                        {dir + "/text.png", "neither a PNG, a JPEG nor a DICOM"});
  expect_error_mentions([&] { read_image_size(dir + "/text.png"); },
                        {dir + "/text.png", "neither a PNG, a JPEG nor a DICOM"});
  write_bytes(dir + "/empty.jpg", "");
  expect_error_mentions([&] { read_image(dir + "/empty.jpg"); }, {dir + "/empty.jpg"});
  expect_error_mentions([&] { read_image(dir + "/missing.png"); }, {dir + "/missing.png"});
}

TEST(Image, TruncatedAndCorruptFilesNameTheFile) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const std::string dir = ldmg::test::temp_dir("data_corrupt");
  const std::string jpg = io::read_file_bytes(ldmg::test::parity_dir() + "/" + kJpg);
  const std::string png = io::read_file_bytes(ldmg::test::parity_dir() + "/" + kPng);

  write_bytes(dir + "/trunc.jpg", jpg.substr(0, jpg.size() / 2));
  expect_error_mentions([&] { read_image(dir + "/trunc.jpg"); }, {dir + "/trunc.jpg", "JPEG", "truncated"});
  // Header-only read still works on a truncated file (the SOF is near the start).
  EXPECT_EQ(read_image_size(dir + "/trunc.jpg").width, 720);

  write_bytes(dir + "/trunc_header.jpg", jpg.substr(0, 40));
  expect_error_mentions([&] { read_image(dir + "/trunc_header.jpg"); }, {dir + "/trunc_header.jpg"});
  expect_error_mentions([&] { read_image_size(dir + "/trunc_header.jpg"); }, {dir + "/trunc_header.jpg"});

  // Corrupt: the SOF's precision byte set to 13 bits, which libjpeg refuses.
  std::string bad = jpg;
  const auto sof = bad.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  bad[sof + 4] = 13;
  write_bytes(dir + "/bad_precision.jpg", bad);
  expect_error_mentions([&] { read_image(dir + "/bad_precision.jpg"); },
                        {dir + "/bad_precision.jpg", "Unsupported JPEG data precision 13"});

  write_bytes(dir + "/trunc.png", png.substr(0, png.size() / 2));
  expect_error_mentions([&] { read_image(dir + "/trunc.png"); }, {dir + "/trunc.png", "PNG", "truncated"});

  std::string bad_png = png;
  bad_png[17] ^= 0x55;  // inside IHDR's width: the chunk CRC no longer matches
  write_bytes(dir + "/bad_crc.png", bad_png);
  expect_error_mentions([&] { read_image(dir + "/bad_crc.png"); }, {dir + "/bad_crc.png", "CRC"});

  // Garbage in the compressed stream: zlib's complaint comes through.
  std::string bad_idat = png;
  const auto idat = bad_idat.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  for (std::size_t i = idat + 4; i < idat + 40; ++i) bad_idat[i] = static_cast<char>(0xFF);
  write_bytes(dir + "/bad_idat.png", bad_idat);
  expect_error_mentions([&] { read_image(dir + "/bad_idat.png"); }, {dir + "/bad_idat.png"});
}

TEST(Image, ColourPolicies) {
  const std::string dir = ldmg::test::temp_dir("data_colour");
  // Pure red, green, blue, white: Pillow's convert("L") gives 76, 150, 29, 255.
  const std::vector<uint8_t> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  write_png(dir + "/rgb.png", 2, 2, PNG_COLOR_TYPE_RGB, 8, rgb);
  expect_error_mentions([&] { read_image(dir + "/rgb.png"); }, {dir + "/rgb.png", "colour"});
  ImageOptions luma;
  luma.color = ColorPolicy::luma;
  EXPECT_EQ(read_image(dir + "/rgb.png", luma).pixels, (std::vector<uint8_t>{76, 150, 29, 255}));
  ImageOptions first;
  first.color = ColorPolicy::first_channel;
  EXPECT_EQ(read_image(dir + "/rgb.png", first).pixels, (std::vector<uint8_t>{255, 0, 0, 255}));

  // RGBA: alpha dropped.
  const std::vector<uint8_t> rgba = {10, 20, 30, 0, 200, 100, 50, 255};
  write_png(dir + "/rgba.png", 2, 1, PNG_COLOR_TYPE_RGBA, 8, rgba);
  EXPECT_EQ(read_image(dir + "/rgba.png", luma).pixels,
            (std::vector<uint8_t>{pillow_luma(10, 20, 30), pillow_luma(200, 100, 50)}));

  // Palette: expanded to RGB, then the policy.
  const std::vector<png_color> pal = {{0, 0, 0}, {255, 0, 0}, {9, 9, 9}};
  write_png(dir + "/pal.png", 3, 1, PNG_COLOR_TYPE_PALETTE, 8, {2, 1, 0}, pal);
  expect_error_mentions([&] { read_image(dir + "/pal.png"); }, {dir + "/pal.png", "colour"});
  EXPECT_EQ(read_image(dir + "/pal.png", luma).pixels, (std::vector<uint8_t>{9, 76, 0}));

  // Gray + alpha: the gray channel, under the default policy too.
  write_png(dir + "/la.png", 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, {7, 0, 250, 128});
  EXPECT_EQ(read_image(dir + "/la.png").pixels, (std::vector<uint8_t>{7, 250}));

  // 2-bit gray scaled to 0..255 like Pillow's "L;2" unpacker: 0,1,2,3 -> 0,85,170,255.
  write_png(dir + "/g2.png", 4, 1, PNG_COLOR_TYPE_GRAY, 2, {0b00011011});
  EXPECT_EQ(read_image(dir + "/g2.png").pixels, (std::vector<uint8_t>{0, 85, 170, 255}));
}

TEST(Image, SixteenBitGrayScaledToEightBitsOrKept) {
  const std::string dir = ldmg::test::temp_dir("data_16");
  // Big-endian samples 0x0102 (258), 0xFFFF, 0x0000, 0x8000 (32768), 32767, 129, 128, 0x7F80 (32640).
  // round(v * 255 / 65535) by hand: 258 -> 1.0039 -> 1; 65535 -> 255; 0 -> 0;
  // 32768 -> 127.502 -> 128; 32767 -> 127.498 -> 127; 129 -> 0.50196 -> 1;
  // 128 -> 0.49806 -> 0; 32640 -> 127.004 -> 127.
  write_png(dir + "/g16.png", 4, 2, PNG_COLOR_TYPE_GRAY, 16,
            {0x01, 0x02, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0x00, 0x7F, 0xFF, 0x00, 0x81, 0x00, 0x80, 0x7F, 0x80});
  const GrayImage img = read_image(dir + "/g16.png");
  EXPECT_EQ(img.bit_depth, 8);
  EXPECT_EQ(img.width, 4);
  EXPECT_EQ(img.height, 2);
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{1, 255, 0, 128, 127, 1, 0, 127}));
  EXPECT_TRUE(img.pixels16.empty());
  ImageOptions keep;
  keep.keep_16bit = true;
  const GrayImage kept = read_image(dir + "/g16.png", keep);
  EXPECT_EQ(kept.bit_depth, 16);
  EXPECT_EQ(kept.pixels16, (std::vector<uint16_t>{0x0102, 0xFFFF, 0x0000, 0x8000, 32767, 129, 128, 0x7F80}));
  ImageOptions no16;
  no16.allow_16bit = false;
  expect_error_mentions([&] { read_image(dir + "/g16.png", no16); }, {dir + "/g16.png", "16-bit"});
  write_png(dir + "/rgb16.png", 1, 1, PNG_COLOR_TYPE_RGB, 16, {0, 1, 0, 2, 0, 3});
  ImageOptions luma;
  luma.color = ColorPolicy::luma;
  expect_error_mentions([&] { read_image(dir + "/rgb16.png", luma); }, {dir + "/rgb16.png", "16-bit colour"});
}

TEST(Image, SixteenBitPngMatchesItsEightBitTwin) {
  // Property: a 16-bit PNG holding v * 257 (the exact 16-bit form of 8-bit v)
  // decodes to the same pixels as the 8-bit PNG of v, for every v.
  const std::string dir = ldmg::test::temp_dir("data_16twin");
  std::vector<uint8_t> eight(256), sixteen(512);
  for (int v = 0; v < 256; ++v) {
    eight[v] = static_cast<uint8_t>(v);
    sixteen[2 * v] = sixteen[2 * v + 1] = static_cast<uint8_t>(v);  // v * 257 big-endian = bytes (v, v)
  }
  write_png(dir + "/g8.png", 16, 16, PNG_COLOR_TYPE_GRAY, 8, eight);
  write_png(dir + "/g16.png", 16, 16, PNG_COLOR_TYPE_GRAY, 16, sixteen);
  EXPECT_EQ(read_image(dir + "/g16.png").pixels, read_image(dir + "/g8.png").pixels);
}

TEST(Image, ProgressiveJpegDecodesLikeBaseline) {
  // Same quantisation tables, so the same coefficients: the pixels must agree exactly.
  const int w = 67, h = 45;
  std::vector<uint8_t> gray(w * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) gray[y * w + x] = static_cast<uint8_t>((x * 7 + y * 13 + (x * y) % 17) & 0xFF);
  const std::string base = write_jpeg(w, h, gray, false);
  const std::string prog = write_jpeg(w, h, gray, true);
  ASSERT_NE(base, prog);
  const GrayImage a = decode_image(base, "baseline");
  const GrayImage b = decode_image(prog, "progressive");
  ASSERT_EQ(a.width, w);
  ASSERT_EQ(a.height, h);
  EXPECT_EQ(a.pixels, b.pixels);
  // And a lossy-but-close round trip (quality 90).
  int max_diff = 0;
  for (std::size_t i = 0; i < gray.size(); ++i) max_diff = std::max(max_diff, std::abs(int(a.pixels[i]) - int(gray[i])));
  EXPECT_LT(max_diff, 40);
  expect_error_mentions([&] { decode_image(prog.substr(0, prog.size() / 3), "prog-trunc"); },
                        {"prog-trunc", "truncated"});
}
