#include "data/dicom_info.h"

#include <nlohmann/json.hpp>

namespace ldmg::data {

nlohmann::json dicom_info_json(const DicomInfo& d) {
  nlohmann::json j = {{"transfer_syntax", d.transfer_syntax},
                      {"transfer_syntax_name", d.transfer_syntax_name},
                      {"photometric_interpretation", d.photometric},
                      {"modality", d.modality},
                      {"bits_allocated", d.bits_allocated},
                      {"bits_stored", d.bits_stored},
                      {"pixel_signed", d.pixel_signed},
                      {"rescale_slope", d.rescale_slope},
                      {"rescale_intercept", d.rescale_intercept},
                      {"window_center", d.window_center},
                      {"window_width", d.window_width},
                      {"voi_lut_function", d.voi_lut_function},
                      {"voi_lut_sequence", d.has_voi_lut_sequence},
                      {"pixel_spacing_mm", d.pixel_spacing},
                      {"imager_pixel_spacing_mm", d.imager_pixel_spacing},
                      {"view_position", d.view_position},
                      {"patient_orientation", d.patient_orientation},
                      {"image_orientation_patient", d.image_orientation_patient},
                      {"stored_range", {d.stored_min, d.stored_max}},
                      {"conversion", d.conversion}};
  if (!d.window_used.empty()) j["window_used"] = d.window_used;
  return j;
}

}  // namespace ldmg::data
