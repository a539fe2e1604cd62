// DICOM input: the 8-bit conversions on hand-computed cases, files written by
// GDCM itself (uncompressed, MONOCHROME1, four compressed transfer syntaxes,
// corrupt), the metadata kept for provenance, and MS-CXR rows naming .dcm
// files (or .jpg files whose .dcm twin is what the images root holds).
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "data/dicom_to_8bit.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "dicom_writer.h"
#include "io/file_bytes.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::data;
namespace fs = std::filesystem;
using ldmg::test::DicomSpec;
using ldmg::test::expect_error_mentions;
using ldmg::test::write_dicom;

namespace {

// 3x3 stored values around a window of center 500, width 201.
const std::vector<std::uint16_t> kStored = {0, 399, 400, 450, 500, 550, 599, 600, 4095};

DicomSpec small_spec() {
  DicomSpec s;
  s.width = 3;
  s.height = 3;
  s.pixels = kStored;
  s.bits_stored = 12;
  s.window_center = "500";
  s.window_width = "201";
  return s;
}

// 64x48 (JPEG 2000 needs more than a few pixels), 12-bit values with structure.
DicomSpec pattern_spec() {
  DicomSpec s;
  s.width = 64;
  s.height = 48;
  s.bits_stored = 12;
  s.pixels.resize(64 * 48);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) s.pixels[y * 64 + x] = static_cast<std::uint16_t>((x * 37 + y * 101 + x * y) % 4096);
  s.window_center = "2048";
  s.window_width = "4096";
  return s;
}

ImageOptions with(DicomConversion c) {
  ImageOptions o;
  o.dicom = c;
  return o;
}

// What `fn` writes to file descriptor 2 (C stdio, std::cerr and GDCM's trace alike).
std::string captured_stderr(const std::string& file, const std::function<void()>& fn) {
  std::cerr.flush();
  std::fflush(stderr);
  const int saved = ::dup(2);
  FILE* f = std::fopen(file.c_str(), "w");
  EXPECT_TRUE(saved >= 0 && f);
  ::dup2(::fileno(f), 2);
  try {
    fn();
  } catch (...) {
    std::cerr.flush();
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(f);
    throw;
  }
  std::cerr.flush();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(f);
  return io::read_file_bytes(file);
}

std::string cut(const std::string& path, std::size_t keep, const std::string& out) {
  const std::string bytes = io::read_file_bytes(path);
  std::ofstream f(out, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(std::min(keep, bytes.size())));
  return out;
}

}  // namespace

TEST(DicomToEightBit, MinMaxTruncatesAsNumpy) {
  // (v - 100) / 1000 * 255 truncated: 0, 25.5 -> 25, 51, 127.5 -> 127, 255.
  EXPECT_EQ(min_max_to_8bit({100, 200, 300, 600, 1100}), (std::vector<std::uint8_t>{0, 25, 51, 127, 255}));
  // Signed stored values: min -1000, range 2000: -1000 -> 0, 0 -> 127.5 -> 127, 1000 -> 255.
  EXPECT_EQ(min_max_to_8bit({-1000, 0, 1000}), (std::vector<std::uint8_t>{0, 127, 255}));
  EXPECT_EQ(min_max_to_8bit({7, 7, 7}), (std::vector<std::uint8_t>{0, 0, 0}));  // constant image
}

TEST(DicomToEightBit, EqualizeHistogramHandComputed) {
  // Levels 0 (x2), 10 (x3), 20 (x1), 30 (x2): scale 255 / (8 - 2) = 42.5;
  // 10 -> 3 * 42.5 = 127.5 -> 128 (half to even), 20 -> 170, 30 -> 255.
  std::vector<std::uint8_t> a = {0, 0, 10, 10, 10, 20, 30, 30};
  equalize_histogram(a);
  EXPECT_EQ(a, (std::vector<std::uint8_t>{0, 0, 128, 128, 128, 170, 255, 255}));
  // 42.5 -> 42 (half to even, not up); the lowest level goes to 0 even when it is not 0.
  std::vector<std::uint8_t> b = {5, 5, 7, 9, 9, 9, 9, 9};
  equalize_histogram(b);
  EXPECT_EQ(b, (std::vector<std::uint8_t>{0, 0, 42, 255, 255, 255, 255, 255}));
  std::vector<std::uint8_t> flat = {77, 77, 77};  // one level keeps it
  equalize_histogram(flat);
  EXPECT_EQ(flat, (std::vector<std::uint8_t>{77, 77, 77}));
}

TEST(DicomToEightBit, VoiWindowsHandComputed) {
  // LINEAR, c = 500, w = 201: 0 at x <= 399.5, 255 at x > 599.5, else
  // ((x - 499.5) / 200 + 0.5) * 255 rounded: 400 -> 0.6375 -> 1, 450 -> 64.39 -> 64,
  // 500 -> 128.14 -> 128, 550 -> 191.89 -> 192, 599 -> 254.36 -> 254.
  const VoiWindow lin{500, 201, VoiFunction::linear};
  const double xs[] = {0, 399, 400, 450, 500, 550, 599, 600, 4095};
  const int want[] = {0, 0, 1, 64, 128, 192, 254, 255, 255};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(apply_voi_window(xs[i], lin), want[i]) << "x = " << xs[i];
  // LINEAR_EXACT, c = 500, w = 200: (x - 500) / 200 + 0.5: 450 -> 0.25 * 255 = 63.75 -> 64; 400 -> 0.
  const VoiWindow exact{500, 200, VoiFunction::linear_exact};
  EXPECT_EQ(apply_voi_window(450, exact), 64);
  EXPECT_EQ(apply_voi_window(400, exact), 0);
  EXPECT_EQ(apply_voi_window(601, exact), 255);
  // SIGMOID, c = 500, w = 200: 255 / (1 + exp(-4 * 50 / 200)) = 255 / (1 + e^-1) = 186.4 -> 186; center -> 127.5 ->
  // 128.
  const VoiWindow sig{500, 200, VoiFunction::sigmoid};
  EXPECT_EQ(apply_voi_window(550, sig), 186);
  EXPECT_EQ(apply_voi_window(500, sig), 128);
  EXPECT_EQ(parse_voi_function("", "f.dcm"), VoiFunction::linear);
  expect_error_mentions([] { parse_voi_function("CUBIC", "f.dcm"); }, {"f.dcm", "CUBIC", "LINEAR"});
}

TEST(DicomImage, Monochrome2MimicJpgHandComputed) {
  const std::string dir = ldmg::test::temp_dir("dicom_m2");
  write_dicom(dir + "/m2.dcm", small_spec());
  const GrayImage img = read_image(dir + "/m2.dcm");
  EXPECT_EQ(img.format, ImageFormat::dicom);
  EXPECT_EQ(img.width, 3);
  EXPECT_EQ(img.height, 3);
  EXPECT_EQ(img.bit_depth, 8);
  // min-max (min 0, max 4095), truncated: floor(v * 255 / 4095) =
  //   0, 24, 24, 28, 31, 34, 37, 37, 255;
  // equalised: first level 0 (1 pixel), scale 255 / 8 = 31.875, cumulative
  //   counts 2, 3, 4, 5, 7, 8 -> 63.75, 95.625, 127.5, 159.375, 223.125, 255
  //   -> 64, 96, 128 (half to even), 159, 223, 255.
  EXPECT_EQ(img.pixels, (std::vector<std::uint8_t>{0, 64, 64, 96, 128, 159, 223, 223, 255}));
  ASSERT_TRUE(img.dicom);
  EXPECT_EQ(img.dicom->conversion, "mimic_jpg");
  EXPECT_EQ(img.dicom->photometric, "MONOCHROME2");
  EXPECT_EQ(img.dicom->stored_min, 0);
  EXPECT_EQ(img.dicom->stored_max, 4095);
  EXPECT_EQ(img.dicom->bits_stored, 12);
}

TEST(DicomImage, Monochrome1IsInverted) {
  const std::string dir = ldmg::test::temp_dir("dicom_m1");
  DicomSpec s = small_spec();
  s.monochrome1 = true;
  write_dicom(dir + "/m1.dcm", s);
  // mimic_jpg: 255 - (0, 24, 24, 28, 31, 34, 37, 37, 255) = 255, 231, 231, 227, 224, 221, 218, 218, 0,
  // then equalised (lowest level 0, same counts mirrored): 255, 223, 223, 159, 128, 96, 64, 64, 0.
  const GrayImage m = read_image(dir + "/m1.dcm");
  EXPECT_EQ(m.pixels, (std::vector<std::uint8_t>{255, 223, 223, 159, 128, 96, 64, 64, 0}));
  EXPECT_EQ(m.dicom->photometric, "MONOCHROME1");
  // window: 255 minus the LINEAR window values of VoiWindowsHandComputed.
  const GrayImage w = read_image(dir + "/m1.dcm", with(DicomConversion::window));
  EXPECT_EQ(w.pixels, (std::vector<std::uint8_t>{255, 255, 254, 191, 127, 63, 1, 0, 0}));
}

TEST(DicomImage, WindowConversionAppliesModalityLutThenWindow) {
  const std::string dir = ldmg::test::temp_dir("dicom_window");
  write_dicom(dir + "/w.dcm", small_spec());
  const GrayImage w = read_image(dir + "/w.dcm", with(DicomConversion::window));
  EXPECT_EQ(w.pixels, (std::vector<std::uint8_t>{0, 0, 1, 64, 128, 192, 254, 255, 255}));
  EXPECT_EQ(w.dicom->conversion, "window");
  EXPECT_EQ(w.dicom->window_used, "center 500 width 201 LINEAR");

  // Rescale slope 2, intercept -100: stored 250, 275, 300 -> 400, 450, 500 -> 1, 64, 128;
  // the second window value pair ("800\\1000") is recorded but not used.
  DicomSpec r;
  r.width = 3;
  r.height = 1;
  r.pixels = {250, 275, 300};
  r.rescale_slope = "2";
  r.rescale_intercept = "-100";
  r.window_center = "500\\800";
  r.window_width = "201\\1000";
  write_dicom(dir + "/r.dcm", r);
  const GrayImage rw = read_image(dir + "/r.dcm", with(DicomConversion::window));
  EXPECT_EQ(rw.pixels, (std::vector<std::uint8_t>{1, 64, 128}));
  EXPECT_EQ(rw.dicom->window_center, (std::vector<double>{500, 800}));
  EXPECT_EQ(rw.dicom->rescale_slope, 2);
  EXPECT_EQ(rw.dicom->rescale_intercept, -100);
  // mimic_jpg ignores rescale and window: stored 250, 275, 300 -> 0, 127, 255 -> equalised 0, 128, 255.
  EXPECT_EQ(read_image(dir + "/r.dcm").pixels, (std::vector<std::uint8_t>{0, 128, 255}));

  // No window in the file: min-max of the modality values, rounded: 0, 127.5 -> 128, 255.
  DicomSpec n = r;
  n.window_center.clear();
  n.window_width.clear();
  write_dicom(dir + "/n.dcm", n);
  const GrayImage nw = read_image(dir + "/n.dcm", with(DicomConversion::window));
  EXPECT_EQ(nw.pixels, (std::vector<std::uint8_t>{0, 128, 255}));
  EXPECT_EQ(nw.dicom->window_used, "min-max");
}

TEST(DicomImage, CompressedTransferSyntaxesDecodeToTheSamePixels) {
  const std::string dir = ldmg::test::temp_dir("dicom_ts");
  const DicomSpec base = pattern_spec();
  write_dicom(dir + "/raw.dcm", base);
  const GrayImage raw = read_image(dir + "/raw.dcm");
  const GrayImage raw_w = read_image(dir + "/raw.dcm", with(DicomConversion::window));
  EXPECT_EQ(raw.dicom->transfer_syntax, "1.2.840.10008.1.2.1");  // Explicit VR Little Endian
  EXPECT_EQ(raw.dicom->stored_min, *std::min_element(base.pixels.begin(), base.pixels.end()));
  EXPECT_EQ(raw.dicom->stored_max, *std::max_element(base.pixels.begin(), base.pixels.end()));
  {
    std::vector<std::int32_t> stored(base.pixels.begin(), base.pixels.end());
    std::vector<std::uint8_t> want = min_max_to_8bit(stored);
    equalize_histogram(want);
    EXPECT_EQ(raw.pixels, want);
  }
  const struct {
    gdcm::TransferSyntax::TSType ts;
    const char* uid;
  } cases[] = {{gdcm::TransferSyntax::JPEGLSLossless, "1.2.840.10008.1.2.4.80"},
               {gdcm::TransferSyntax::RLELossless, "1.2.840.10008.1.2.5"},
               {gdcm::TransferSyntax::JPEG2000Lossless, "1.2.840.10008.1.2.4.90"},
               {gdcm::TransferSyntax::JPEGLosslessProcess14_1, "1.2.840.10008.1.2.4.70"}};
  for (const auto& c : cases) {
    DicomSpec s = base;
    s.transfer_syntax = c.ts;
    const std::string path = fmt::format("{}/ts_{}.dcm", dir, static_cast<int>(c.ts));
    write_dicom(path, s);
    EXPECT_NE(io::read_file_bytes(path), io::read_file_bytes(dir + "/raw.dcm")) << c.uid;
    const GrayImage img = read_image(path);
    EXPECT_EQ(img.dicom->transfer_syntax, c.uid);
    EXPECT_FALSE(img.dicom->transfer_syntax_name.empty()) << c.uid;
    EXPECT_EQ(img.pixels, raw.pixels) << c.uid;
    EXPECT_EQ(read_image(path, with(DicomConversion::window)).pixels, raw_w.pixels) << c.uid;
  }
}

TEST(DicomImage, MetadataReadBackIntoProvenance) {
  const std::string dir = ldmg::test::temp_dir("dicom_meta");
  DicomSpec s = small_spec();
  s.pixel_spacing = "0.139\\0.143";
  s.imager_pixel_spacing = "0.15\\0.15";
  s.view_position = "PA";
  s.patient_orientation = "P\\F";
  write_dicom(dir + "/meta.dcm", s);
  const GrayImage img = read_image(dir + "/meta.dcm");
  ASSERT_TRUE(img.dicom);
  EXPECT_EQ(img.dicom->pixel_spacing, (std::vector<double>{0.139, 0.143}));
  EXPECT_EQ(img.dicom->imager_pixel_spacing, (std::vector<double>{0.15, 0.15}));
  EXPECT_EQ(img.dicom->view_position, "PA");
  EXPECT_EQ(img.dicom->patient_orientation, "P\\F");
  EXPECT_EQ(img.dicom->modality, "CR");
  const nlohmann::json j = dicom_info_json(*img.dicom);
  EXPECT_EQ(j["pixel_spacing_mm"], nlohmann::json::parse("[0.139, 0.143]"));
  EXPECT_EQ(j["imager_pixel_spacing_mm"], nlohmann::json::parse("[0.15, 0.15]"));
  EXPECT_EQ(j["view_position"], "PA");
  EXPECT_EQ(j["photometric_interpretation"], "MONOCHROME2");
  EXPECT_EQ(j["window_center"], nlohmann::json::parse("[500.0]"));
  EXPECT_EQ(j["conversion"], "mimic_jpg");
  EXPECT_EQ(j["stored_range"], nlohmann::json::parse("[0, 4095]"));
  // Absent attributes stay empty.
  write_dicom(dir + "/bare.dcm", pattern_spec());
  const GrayImage bare = read_image(dir + "/bare.dcm");
  EXPECT_TRUE(bare.dicom->pixel_spacing.empty());
  EXPECT_TRUE(bare.dicom->view_position.empty());
  // Header-only size.
  const ImageSize size = read_image_size(dir + "/bare.dcm");
  EXPECT_EQ(size.width, 64);
  EXPECT_EQ(size.height, 48);
  EXPECT_EQ(size.format, ImageFormat::dicom);
}

TEST(DicomImage, CorruptFilesNameTheFile) {
  const std::string dir = ldmg::test::temp_dir("dicom_corrupt");
  write_dicom(dir + "/raw.dcm", pattern_spec());
  const std::size_t size = io::read_file_bytes(dir + "/raw.dcm").size();
  // Cut inside the pixel data, inside the file meta header, and garbage named .dcm.
  const std::string short_pixels = cut(dir + "/raw.dcm", size - 1000, dir + "/short_pixels.dcm");
  expect_error_mentions([&] { read_image(short_pixels); }, {short_pixels});
  const std::string short_header = cut(dir + "/raw.dcm", 150, dir + "/short_header.dcm");
  expect_error_mentions([&] { read_image(short_header); }, {short_header, "DICOM"});
  expect_error_mentions([&] { read_image_size(short_header); }, {short_header, "DICOM"});
  const std::string garbage = dir + "/garbage.dcm";
  std::ofstream(garbage) << "this is not a DICOM file, just text with a .dcm name";
  expect_error_mentions([&] { read_image(garbage); }, {garbage, "DICOM"});
  // A compressed file cut inside its codestream.
  DicomSpec jls = pattern_spec();
  jls.transfer_syntax = gdcm::TransferSyntax::JPEGLSLossless;
  write_dicom(dir + "/jls.dcm", jls);
  const std::size_t jls_size = io::read_file_bytes(dir + "/jls.dcm").size();
  const std::string short_jls = cut(dir + "/jls.dcm", jls_size - 300, dir + "/short_jls.dcm");
  expect_error_mentions([&] { read_image(short_jls); }, {short_jls});
  // Without a preamble and not named .dcm, nothing says DICOM: rejected by detection.
  const std::string bytes = io::read_file_bytes(dir + "/raw.dcm");
  const std::string no_name = dir + "/image.bin";
  std::ofstream(no_name, std::ios::binary) << bytes.substr(0, 100);
  expect_error_mentions([&] { read_image(no_name); }, {no_name, "DICOM"});
}

TEST(DicomImage, MsCxrRowsPointingAtDicomLoad) {
  const std::string root = ldmg::test::temp_dir("dicom_mscxr");
  const std::string study = "files/p10/p10000032/s50414267";
  fs::create_directories(root + "/" + study);
  write_dicom(root + "/" + study + "/02aa804e.dcm", pattern_spec());
  const std::string header = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height\n";
  const std::string csv = root + "/ms.csv";
  // A row naming the .dcm, and the published CSV's .jpg name for the same
  // image where only the .dcm exists (MIMIC-CXR DICOM root).
  std::ofstream(csv) << header << "02aa804e,Pneumonia,left lower lobe opacity," << study
                     << "/02aa804e.dcm,4,5,20,10,64,48\n"
                     << "02aa804e,Pneumonia,right effusion," << study << "/02aa804e.jpg,30,5,20,10,64,48\n";
  MsCxrOptions opt;
  opt.images_root = root;
  opt.require_images = true;
  const MsCxrDataset ds = read_ms_cxr(csv, opt);
  ASSERT_EQ(ds.size(), 2u);
  for (const Pair& p : ds.pairs()) {
    EXPECT_EQ(fs::path(p.image_path).filename(), "02aa804e.dcm") << p.path;
    // What the pipeline does with a pair's image (pipeline/image_scoring.cpp):
    // read it and check it against the CSV size.
    const GrayImage img = read_image(p.image_path);
    EXPECT_EQ(img.width, p.csv_width);
    EXPECT_EQ(img.height, p.csv_height);
    EXPECT_EQ(img.format, ImageFormat::dicom);
  }
  EXPECT_EQ(ds[1].path, study + "/02aa804e.jpg");  // the CSV's text is kept
  // When the .jpg exists, it is what the row names.
  std::ofstream(root + "/" + study + "/02aa804e.jpg") << "x";
  EXPECT_EQ(fs::path(read_ms_cxr(csv, opt)[1].image_path).filename(), "02aa804e.jpg");
}

TEST(DicomImage, EveryTruncationIsAnErrorNamingTheFile) {
  // Property: a file cut anywhere (every byte through the first 400, then
  // every 13th) throws ldmg::Error naming it; GDCM never gets to abort
  // on its assertions or hand back zero-padded pixels.
  const std::string dir = ldmg::test::temp_dir("dicom_cuts");
  DicomSpec jls = pattern_spec();
  jls.transfer_syntax = gdcm::TransferSyntax::JPEGLSLossless;
  write_dicom(dir + "/raw.dcm", pattern_spec());
  write_dicom(dir + "/jls.dcm", jls);
  for (const char* name : {"raw.dcm", "jls.dcm"}) {
    const std::string bytes = io::read_file_bytes(dir + "/" + name);
    const std::string cut_path = dir + "/cut_" + name;
    for (std::size_t keep = 0; keep < bytes.size(); keep += keep < 400 ? 1 : 13) {
      std::ofstream(cut_path, std::ios::binary | std::ios::trunc)
          .write(bytes.data(), static_cast<std::streamsize>(keep));
      bool threw = false;
      try {
        read_image(cut_path);
      } catch (const Error& e) {
        threw = std::string(e.what()).find(cut_path) != std::string::npos;
      }
      EXPECT_TRUE(threw) << name << " cut to " << keep << " of " << bytes.size() << " bytes";
    }
  }
}

TEST(DicomImage, MimicJpgMatchesPydicomAndOpenCV) {
  // Golden: fixtures/mimic_jpg/make_golden.py wrote these DICOMs with pydicom
  // and converted them with pydicom + OpenCV as MIMIC-CXR-JPG did (a
  // MONOCHROME1 12-bit RLE file and a MONOCHROME2 16-bit one with a sparse
  // histogram); the expected 8-bit images are lossless PNGs.
  const std::string dir = std::string(LDMG_DATA_FIXTURES) + "/mimic_jpg";
  for (const char* name : {"m1_12bit_rle", "m2_16bit_gamma"}) {
    const GrayImage got = read_image(dir + "/" + name + ".dcm");
    const GrayImage want = read_image(dir + "/" + name + "_expected.png");
    ASSERT_EQ(got.width, want.width) << name;
    ASSERT_EQ(got.height, want.height) << name;
    std::size_t differing = 0;
    for (std::size_t i = 0; i < want.pixels.size(); ++i) differing += got.pixels[i] != want.pixels[i];
    EXPECT_EQ(differing, 0u) << name << ": pixels differing from pydicom + OpenCV";
  }
}

TEST(DicomImage, SequencesAndImplicitVrRead) {
  // The fuzz seeds (written by pydicom) are valid files the structural check
  // must pass: sequences of defined and undefined length, implicit VR, RLE
  // fragments. 6x8 MONOCHROME1, stored v = 85 i (i = 0..47).
  const std::string dir = LDMG_DICOM_SEEDS;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string path = entry.path().string();
    const GrayImage img = read_image(path, with(DicomConversion::window));
    ++files;
    EXPECT_EQ(img.width, 6) << path;
    EXPECT_EQ(img.height, 8) << path;
    EXPECT_EQ(img.dicom->photometric, "MONOCHROME1") << path;
    EXPECT_EQ(img.dicom->pixel_spacing, (std::vector<double>{0.139, 0.139})) << path;
    EXPECT_EQ(img.dicom->stored_max, 85 * 47) << path;
    // LINEAR window c = 2048, w = 4096 then inverted: stored 0 -> 255, stored 85 * 47 = 3995 -> 255 - 249 = 6
    // (((3995 - 2047.5) / 4095 + 0.5) * 255 = 248.77 -> 249).
    EXPECT_EQ(img.pixels.front(), 255) << path;
    EXPECT_EQ(img.pixels.back(), 6) << path;
  }
  EXPECT_EQ(files, 4);
}

TEST(DicomImage, MalformedAttributesFailOnlyWhereTheyAreUsed) {
  // A malformed Pixel Spacing is dropped from provenance; a malformed Window
  // Center fails the window conversion (naming file and tag) but not mimic_jpg,
  // which does not use it.
  const std::string dir = ldmg::test::temp_dir("dicom_malformed");
  DicomSpec s = small_spec();
  s.pixel_spacing = "abc\\0.1";
  s.window_center = "5OO";
  write_dicom(dir + "/bad.dcm", s);
  const GrayImage img = read_image(dir + "/bad.dcm");
  EXPECT_TRUE(img.dicom->pixel_spacing.empty());
  EXPECT_TRUE(img.dicom->window_center.empty());
  EXPECT_EQ(img.pixels, (std::vector<std::uint8_t>{0, 64, 64, 96, 128, 159, 223, 223, 255}));
  expect_error_mentions([&] { read_image(dir + "/bad.dcm", with(DicomConversion::window)); },
                        {dir + "/bad.dcm", "(0028,1050)", "5OO"});
}

TEST(DicomImage, ConversionNamesParseOrNameTheOption) {
  EXPECT_EQ(parse_dicom_conversion("mimic_jpg", "--dicom-conversion"), DicomConversion::mimic_jpg);
  EXPECT_EQ(parse_dicom_conversion("window", "--dicom-conversion"), DicomConversion::window);
  EXPECT_STREQ(to_string(DicomConversion::window), "window");
  for (const char* bad : {"jpeg", "", "Window", "mimic-jpg"})
    expect_error_mentions([&] { parse_dicom_conversion(bad, "--dicom-conversion"); },
                          {"--dicom-conversion", fmt::format("'{}'", bad), "mimic_jpg", "window"});
}

// GDCM's own trace is off while our errors still name the file. The JPEG 2000
// file below makes GDCM 3.0.21 warn "Encapsulated stream has more bits
// actually stored on disk. correcting." on every read: shown first with GDCM's
// warnings switched back on (so the capture is known to see them), then
// silent through read_image and read_image_size.
TEST(DicomImage, GdcmTraceIsSilentAndErrorsStillNameTheFile) {
  const std::string dir = ldmg::test::temp_dir("dicom_trace");
  DicomSpec s = pattern_spec();
  s.transfer_syntax = gdcm::TransferSyntax::JPEG2000Lossless;
  write_dicom(dir + "/j2k.dcm", s);
  read_image(dir + "/j2k.dcm");  // the reader has set the trace up

  gdcm::Trace::SetWarning(true);
  const std::string loud = captured_stderr(dir + "/loud.txt", [&] { read_image(dir + "/j2k.dcm"); });
  gdcm::Trace::SetWarning(false);
  EXPECT_NE(loud.find("Encapsulated stream has more bits"), std::string::npos)
      << "this GDCM no longer warns on the file; the test needs another one. stderr: " << loud;

  GrayImage img;
  const std::string quiet = captured_stderr(dir + "/quiet.txt", [&] {
    img = read_image(dir + "/j2k.dcm", with(DicomConversion::window));
    read_image_size(dir + "/j2k.dcm");
  });
  EXPECT_EQ(quiet, "");
  EXPECT_EQ(img.width, 64);
  EXPECT_EQ(img.dicom->conversion, "window");

  // A real problem is still an exception naming the file, with what GDCM
  // reported as an error: the JPEG 2000 main header overwritten (the file's
  // structure intact, so GDCM's codec is what fails). OpenJPEG's own message
  // ("Expected a SOC marker") still reaches stderr: it is not GDCM's trace.
  std::string bytes = io::read_file_bytes(dir + "/j2k.dcm");
  const std::size_t soc = bytes.find("\xff\x4f\xff\x51");
  ASSERT_NE(soc, std::string::npos) << "no JPEG 2000 codestream in the file";
  bytes.replace(soc, 60, std::string(60, '\x11'));
  const std::string bad = dir + "/bad_codestream.dcm";
  std::ofstream(bad, std::ios::binary) << bytes;
  const std::string err = captured_stderr(dir + "/err.txt", [&] {
    expect_error_mentions([&] { read_image(bad); }, {bad, "cannot decode the pixel data", "(GDCM: "});
  });
  EXPECT_EQ(err.find("Warning: In"), std::string::npos) << err;
  EXPECT_EQ(err.find("Error: In"), std::string::npos) << err;
}
