#include "synthetic_grid.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::bench {

namespace fs = std::filesystem;

SyntheticGrid write_synthetic_grid(const std::string& dir, int images, int prompts) {
  LDMG_CHECK(images >= 1 && prompts >= 1, "synthetic grid: {} images x {} prompts", images, prompts);
  SyntheticGrid g{dir + "/grid.csv", dir + "/images"};
  const std::string marker = dir + "/grid.done";
  const std::string sizes = fmt::format("images={} prompts={}\n", images, prompts);
  if (fs::exists(marker) && io::read_file_bytes(marker) == sizes) return g;
  fs::remove_all(dir);
  static const char* kCategories[] = {"Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
                                      "Lung Opacity", "Pleural Effusion", "Pneumonia", "Pneumothorax"};
  std::string csv = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height\n";
  for (int i = 0; i < images; ++i) {
    // MIMIC-like nesting keeps folders small: p<i/1000>/s<i>.jpg.
    const std::string rel = fmt::format("p{:03d}/s{:07d}.jpg", i / 1000, i);
    const fs::path file = fs::path(g.images_root) / rel;
    if (i % 1000 == 0) fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << "stub image " << i << "\n";
    for (int p = 0; p < prompts; ++p)
      csv += fmt::format("d{:07d},{},finding {} of image {},{},{},{},{},{},512,512\n", i, kCategories[(i + p) % 8], p, i,
                         rel, 10 + p, 20 + (i % 50), 100 + p, 80 + (i % 30));
  }
  io::write_file_atomic(g.csv, csv);
  io::write_file_atomic(marker, sizes);
  return g;
}

}  // namespace ldmg::bench
