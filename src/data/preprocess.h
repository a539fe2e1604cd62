#pragma once
// The "ddpm" image transform (SPEC.md §2, QUIRKS.md §3,
// official/data/utils.py:133-144): x/255 in float32, torchvision Resize(size)
// (shorter side -> size, bilinear, align_corners=False, no antialiasing even
// when shrinking), MONAI CenterSpatialCrop(size).
#include <ATen/core/Tensor.h>

#include "data/geometry.h"
#include "data/image.h"

namespace ldmg::data {

// The decoded image as float32 [1, 1, H, W]: 8-bit v -> v / 255 (float32
// division, as MONAI ScaleIntensityRange(0, 255, 0, 1) computes it);
// 16-bit v -> v / 65535 (see image.h).
at::Tensor image_to_unit_tensor(const GrayImage& image);

// torchvision Resize(size, antialias=None) on a float [N, C, H, W] tensor:
// bilinear, align_corners=False, no antialias. Identity when already that size.
at::Tensor resize_shorter_side(const at::Tensor& x, const ResizeCrop& geometry);

// MONAI CenterSpatialCrop(size) on [N, C, H, W] (contiguous result).
at::Tensor center_crop(const at::Tensor& x, const ResizeCrop& geometry);

// Full transform: [1, 1, size, size] float32 in [0, 1].
at::Tensor preprocess_image(const GrayImage& image, int size = 512);

}  // namespace ldmg::data
