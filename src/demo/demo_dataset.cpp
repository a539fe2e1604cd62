#include "demo/demo_dataset.h"

#include <fmt/format.h>

#include "core/check.h"
#include "data/csv.h"
#include "demo/chest_phantom.h"
#include "io/file_bytes.h"
#include "io/png_writer.h"

namespace ldmg::demo {

namespace {

// MIMIC-CXR style: five dash-separated groups of eight hex digits.
std::string dicom_id(Rng& rng) {
  std::string id;
  for (int g = 0; g < 5; ++g)
    id += fmt::format("{}{:08x}", g ? "-" : "", static_cast<std::uint32_t>(rng.next_u64()));
  return id;
}

// Categories that sit in one lung (a second finding on the other side).
bool lateral_category(const std::string& c) { return c != "Edema" && c != "Cardiomegaly"; }

template <class T>
const T& pick(const std::vector<T>& v, Rng& rng) {
  return v[static_cast<std::size_t>(rng.integer(0, static_cast<int>(v.size()) - 1))];
}

}  // namespace

DemoDataset write_demo_dataset(const std::filesystem::path& dir, const DemoDatasetOptions& options) {
  namespace fs = std::filesystem;
  LDMG_CHECK(options.images >= 1 && options.images <= 10000, "demo dataset: images must be in 1..10000, got {}",
             options.images);
  const fs::path root = dir / "images";
  fs::create_directories(root);
  const auto& categories = ms_cxr_categories();
  Rng rng(options.seed);
  const int offset = rng.integer(0, static_cast<int>(categories.size()) - 1);

  std::string csv = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split\n";
  DemoDataset out;
  out.csv = (dir / "ms_cxr.csv").string();
  out.images_root = root.string();
  for (int i = 0; i < options.images; ++i) {
    Rng r = rng.fork(static_cast<std::uint64_t>(i) + 1);
    const int width = r.integer(560, 700);
    int height = r.integer(560, 700);
    while (height == width) height = r.integer(560, 700);

    std::vector<PhantomFinding> findings;
    const std::string& first = categories[static_cast<std::size_t>(i + offset) % categories.size()];
    findings.push_back({pick(sentence_templates(first), r), r.integer(0, 1) ? Side::left : Side::right});
    if (i % 3 == 0) {  // a second sentence about the other lung
      std::vector<std::string> others;
      for (const auto& c : categories)
        if (c != first && lateral_category(c)) others.push_back(c);
      const Side side = findings[0].side == Side::left ? Side::right : Side::left;
      findings.push_back({pick(sentence_templates(pick(others, r)), r), side});
    }
    for (auto& f : findings)
      if (f.sentence.bilateral || f.sentence.zone == Zone::heart) f.side = Side::none;

    const Phantom img = render_chest_phantom(width, height, findings, r);
    const std::string id = dicom_id(r);
    const std::string rel = fmt::format("files/p10/p10{:06d}/s5{:07d}/{}.png", r.integer(0, 999999),
                                        r.integer(0, 9999999), id);
    fs::create_directories((root / rel).parent_path());
    io::write_png_gray((root / rel).string(), width, height, img.pixels.data());
    for (std::size_t f = 0; f < findings.size(); ++f) {
      const std::string text = render_sentence(findings[f].sentence, findings[f].side);
      for (const auto& b : img.boxes[f])
        csv += fmt::format("{},{},{},{},{},{},{},{},{},{},test\n", id, data::csv_field(findings[f].sentence.category),
                           data::csv_field(text), rel, b.x, b.y, b.w, b.h, width, height);
      ++out.pairs;
    }
    ++out.images;
  }
  io::write_file_atomic(out.csv, csv);
  return out;
}

}  // namespace ldmg::demo
