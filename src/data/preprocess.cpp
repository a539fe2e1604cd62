#include "data/preprocess.h"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/check.h"

namespace ldmg::data {

at::Tensor image_to_unit_tensor(const GrayImage& image) {
  const std::int64_t n = static_cast<std::int64_t>(image.width) * image.height;
  LDMG_CHECK(image.width > 0 && image.height > 0, "empty image ({}x{})", image.width, image.height);
  at::Tensor x = at::empty({1, 1, image.height, image.width}, at::kFloat);  // [1, 1, H, W]
  float* out = x.data_ptr<float>();
  if (image.bit_depth == 16) {
    LDMG_ASSERT(static_cast<std::int64_t>(image.pixels16.size()) == n, "pixels16 size {} != {}", image.pixels16.size(), n);
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(image.pixels16[i]) / 65535.0f;
  } else {
    LDMG_ASSERT(static_cast<std::int64_t>(image.pixels.size()) == n, "pixels size {} != {}", image.pixels.size(), n);
    // ScaleIntensityRanged(a_min=0, a_max=255, b_min=0, b_max=1, clip=True): (x - 0) / 255 * 1 + 0,
    // every step exact in float32 except the division; 8-bit input never needs the clip.
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(image.pixels[i]) / 255.0f;
  }
  return x;
}

// torchvision 0.14 functional_tensor.resize -> F.interpolate(size=..., bilinear,
// align_corners=False, antialias=False): output size given, scales derived from it.
at::Tensor resize_shorter_side(const at::Tensor& x, const ResizeCrop& g) {
  LDMG_CHECK(x.dim() == 4 && x.size(2) == g.in_height && x.size(3) == g.in_width,
             "resize: expected [N, C, {}, {}], got [{}]", g.in_height, g.in_width,
             fmt::join(x.sizes(), ", "));
  if (g.resized_height == g.in_height && g.resized_width == g.in_width) return x;
  return at::upsample_bilinear2d(x, {g.resized_height, g.resized_width}, /*align_corners=*/false, std::nullopt,
                                 std::nullopt);  // [N, C, H', W']
}

at::Tensor center_crop(const at::Tensor& x, const ResizeCrop& g) {
  LDMG_CHECK(x.dim() == 4 && x.size(2) == g.resized_height && x.size(3) == g.resized_width,
             "center crop: expected [N, C, {}, {}], got [{}]", g.resized_height, g.resized_width,
             fmt::join(x.sizes(), ", "));
  return x.narrow(2, g.crop_top, g.size).narrow(3, g.crop_left, g.size).contiguous();  // [N, C, size, size]
}

at::Tensor preprocess_image(const GrayImage& image, int size) {
  const ResizeCrop g = resize_crop_geometry(image.height, image.width, size);
  return center_crop(resize_shorter_side(image_to_unit_tensor(image), g), g);  // [1, 1, size, size]
}

}  // namespace ldmg::data
