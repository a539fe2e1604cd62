#pragma once
// Where torchvision Resize(size) + MONAI CenterSpatialCrop(size) put a H x W
// image (official/data/utils.py:142-143; QUIRKS.md §3): the SHORTER side becomes
// `size`, the longer int(size * long / short) (truncated); the crop starts at
// n//2 - size//2 per axis (monai/transforms/croppad/array.py:523), which for an
// even size equals (n - size)//2.
namespace ldmg::data {

struct ResizeCrop {
  int in_height = 0, in_width = 0;
  int resized_height = 0, resized_width = 0;
  int crop_top = 0, crop_left = 0;
  int size = 0;  // output is size x size
};

// Throws ldmg::Error for non-positive sizes.
ResizeCrop resize_crop_geometry(int height, int width, int size = 512);

}  // namespace ldmg::data
