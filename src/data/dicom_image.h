#pragma once
// DICOM chest X-rays through GDCM (libgdcm, Debian's libgdcm-dev): every
// transfer syntax GDCM decodes (uncompressed, deflated, RLE, JPEG baseline /
// extended / lossless, JPEG-LS, JPEG 2000), one frame, MONOCHROME1/2, 8 or 16
// bits allocated. Converted to the 8-bit raster of GrayImage by
// ImageOptions::dicom (docs/images.md):
//  - mimic_jpg (default): what MIMIC-CXR-JPG did to make the published JPEGs
//    (MIT-LCP/mimic-cxr issue #16, dcm2img): the stored values as pydicom's
//    pixel_array gives them (no Modality LUT, no window), min-max to uint8
//    (truncated), MONOCHROME1 inverted, histogram equalised (cv2.equalizeHist).
//    A MIMIC-CXR DICOM so converted equals its JPG before JPEG compression.
//  - window: Modality LUT (rescale slope/intercept), the first VOI window in
//    the file with its VOI LUT Function, MONOCHROME1 inverted; a file without
//    a window gets min-max of the modality values.
// Only GDCM's headers see this file's implementation; callers use image.h.
#include <string>
#include <string_view>

#include "data/image.h"

namespace ldmg::data {

// Decodes one DICOM image; errors (not DICOM, truncated, corrupt pixel data,
// colour, several frames) throw ldmg::Error naming `source`.
GrayImage decode_dicom(std::string_view bytes, const std::string& source, const ImageOptions& options);

// Columns x Rows from the header, without decoding the pixel data.
ImageSize read_dicom_size(const std::string& path);

}  // namespace ldmg::data
