// Preprocessing: geometry by hand (QUIRKS §3 examples), bilinear without
// antialiasing by hand, and every golden pair's image_512_s8/_rowsum/_colsum
// (made from Pillow's decode + torchvision/MONAI transforms).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/check.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "golden.h"
#include "support/fixtures.h"

using namespace ldmg::data;

TEST(Preprocess, GeometryMatchesTorchvisionAndMonai) {
  // H x W = 720 x 600 (portrait): width -> 512, height int(512*720/600) = 614, top = 307 - 256 = 51.
  ResizeCrop g = resize_crop_geometry(720, 600);
  EXPECT_EQ(g.resized_width, 512);
  EXPECT_EQ(g.resized_height, 614);
  EXPECT_EQ(g.crop_top, 51);
  EXPECT_EQ(g.crop_left, 0);
  // 600 x 720 (landscape).
  g = resize_crop_geometry(600, 720);
  EXPECT_EQ(g.resized_width, 614);
  EXPECT_EQ(g.resized_height, 512);
  EXPECT_EQ(g.crop_left, 51);
  // 702 x 575: int(625.06...) = 625, top 312 - 256 = 56 = (625 - 512) // 2.
  g = resize_crop_geometry(702, 575);
  EXPECT_EQ(g.resized_height, 625);
  EXPECT_EQ(g.crop_top, 56);
  // Square stays square; 512 x 512 is the identity.
  g = resize_crop_geometry(512, 512);
  EXPECT_EQ(g.resized_height, 512);
  EXPECT_EQ(g.crop_top, 0);
  // Truncation, not rounding: 512 * 1023 / 1000 = 523.776 -> 523.
  EXPECT_EQ(resize_crop_geometry(1023, 1000).resized_height, 523);
  // Generalised size, odd crop: MONAI start = n//2 - size//2; for n = 8, size 3 that is 4 - 1 = 3,
  // not (8 - 3)//2 = 2.
  g = resize_crop_geometry(8, 3, 3);
  EXPECT_EQ(g.resized_height, 8);
  EXPECT_EQ(g.crop_top, 3);
  EXPECT_THROW(resize_crop_geometry(0, 5), ldmg::Error);
}

TEST(Preprocess, BilinearAlignCornersFalseByHand) {
  // Upsampling 2 -> 4 along x: src = (d + 0.5) / 2 - 0.5, clamped at 0 -> 0, .25, .75, 1.
  GrayImage img{2, 2, 8, {0, 255, 0, 255}, {}, ImageFormat::png};
  const at::Tensor x = preprocess_image(img, 4);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{1, 1, 4, 4}));
  const float want[4] = {0.f, 0.25f, 0.75f, 1.f};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(x[0][0][r][c].item<float>(), want[c], 1e-7) << r << "," << c;
}

TEST(Preprocess, NoAntialiasWhenShrinking) {
  // 8 -> 4: output d samples exactly between inputs 2d and 2d+1. A single bright
  // column at x = 3 reaches only output 1 (0.5); an antialiasing filter would
  // also spread it into outputs 2.
  std::vector<uint8_t> px(64, 0);
  for (int y = 0; y < 8; ++y) px[y * 8 + 3] = 255;
  GrayImage img{8, 8, 8, px, {}, ImageFormat::png};
  const at::Tensor x = preprocess_image(img, 4);
  for (int r = 0; r < 4; ++r) {
    EXPECT_FLOAT_EQ(x[0][0][r][0].item<float>(), 0.f);
    EXPECT_FLOAT_EQ(x[0][0][r][1].item<float>(), 0.5f);
    EXPECT_FLOAT_EQ(x[0][0][r][2].item<float>(), 0.f);
    EXPECT_FLOAT_EQ(x[0][0][r][3].item<float>(), 0.f);
  }
}

TEST(Preprocess, ScalingIsFloat32DivisionBy255) {
  std::vector<uint8_t> px(256);
  for (int i = 0; i < 256; ++i) px[i] = static_cast<uint8_t>(i);
  const at::Tensor x = image_to_unit_tensor(GrayImage{16, 16, 8, px, {}, ImageFormat::png});
  const at::Tensor ref = at::arange(256, at::kFloat).div(255.0);
  EXPECT_TRUE(at::equal(x.flatten(), ref));
  const at::Tensor y = image_to_unit_tensor(GrayImage{2, 1, 16, {}, {0, 65535}, ImageFormat::png});
  EXPECT_EQ(y[0][0][0][1].item<float>(), 1.0f);
}

// The golden image tensors: every evaluated pair of golden/T20 (pair 8 is skipped: no sample file).
TEST(Preprocess, MatchesGoldenImage512) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto metrics = ldmg::test::golden_metrics("T20");
  double max_s8 = 0, max_row_rel = 0, max_col_rel = 0;
  int checked = 0;
  for (const auto& s : metrics["per_sample"]) {
    if (s["skipped"].get<bool>() || !s.contains("file") || s["file"].is_null()) continue;
    const std::string file = ldmg::test::parity_dir() + "/golden/T20/" + s["file"].get<std::string>();
    const std::string image = ldmg::test::parity_dir() + "/" + s["image"].get<std::string>();
    const at::Tensor x = preprocess_image(read_image(image)).to(at::kDouble);  // [1, 1, 512, 512]
    ASSERT_EQ(x.sizes(), (std::vector<int64_t>{1, 1, 512, 512}));
    const auto s8 = ldmg::test::golden_tensor(file, "image_512_s8");
    const auto rows = ldmg::test::golden_tensor(file, "image_512_rowsum");
    const auto cols = ldmg::test::golden_tensor(file, "image_512_colsum");
    ASSERT_EQ(s8.shape, (std::vector<int64_t>{64, 64}));
    const at::Tensor img = x[0][0];
    const at::Tensor sub = img.slice(0, 0, 512, 8).slice(1, 0, 512, 8).contiguous();
    const at::Tensor rs = img.sum(1), cs = img.sum(0);
    for (int i = 0; i < 64 * 64; ++i)
      max_s8 = std::max(max_s8, std::abs(sub.data_ptr<double>()[i] - s8.values[i]));
    for (int i = 0; i < 512; ++i) {
      max_row_rel = std::max(max_row_rel, std::abs(rs[i].item<double>() - rows.values[i]) /
                                              std::max(1e-6, std::abs(double(rows.values[i]))));
      max_col_rel = std::max(max_col_rel, std::abs(cs[i].item<double>() - cols.values[i]) /
                                              std::max(1e-6, std::abs(double(cols.values[i]))));
    }
    ++checked;
  }
  std::printf("[ golden ] %d pairs: image_512_s8 max abs err %.3g, rowsum max rel err %.3g, colsum max rel err %.3g\n",
              checked, max_s8, max_row_rel, max_col_rel);
  RecordProperty("image_512_s8_max_abs", std::to_string(max_s8));
  EXPECT_EQ(checked, 11);  // 8 pairs + 3 Table III variants
  EXPECT_LE(max_s8, 1e-6);
  EXPECT_LE(max_row_rel, 1e-4);
  EXPECT_LE(max_col_rel, 1e-4);
}
