// `ldmground ground`: one image, one or more prompts -> heatmaps (512 and
// original size), an overlay PNG like the paper's Fig. 3, and, with boxes,
// the metrics.
#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/pipeline_options.h"
#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/provenance.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "grounding/back_to_original.h"
#include "io/file_bytes.h"
#include "io/hdf5_file.h"
#include "io/npy.h"
#include "pipeline/pair_scoring.h"
#include "viz/overlay.h"

namespace ldmg::cli {

namespace {
data::Box parse_box(const std::string& s) {
  data::Box b;
  char c1, c2, c3;
  std::istringstream in(s);
  LDMG_CHECK((in >> b.x >> c1 >> b.y >> c2 >> b.w >> c3 >> b.h) && c1 == ',' && c2 == ',' && c3 == ',' && in.eof(),
             "--box '{}': expected x,y,w,h in original pixels", s);
  LDMG_CHECK(b.w > 0 && b.h > 0 && b.x >= 0 && b.y >= 0, "--box '{}': need x,y >= 0 and w,h > 0", s);
  return b;
}
}  // namespace

int run_ground(int argc, char** argv) {
  po::options_description desc("ground options");
  add_common_options(desc);
  desc.add_options()
      ("image", po::value<std::string>()->required(), "chest X-ray: PNG (8/16-bit), JPEG or DICOM (docs/images.md)")
      ("prompt", po::value<std::vector<std::string>>()->required(), "report sentence(s); repeat for several")
      ("out", po::value<std::string>()->required(), "output folder")
      ("box", po::value<std::vector<std::string>>(), "ground-truth box x,y,w,h (original pixels); repeatable")
      ("category", po::value<std::string>()->default_value(""), "class name for --tokens pathology")
      ("format", po::value<std::string>()->default_value("npy"), "heatmap files: npy | h5");
  add_dicom_conversion_option(desc);
  add_model_options(desc);
  add_grounding_options(desc);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground ground --model-dir DIR --image IMG --prompt TEXT --out OUT [--box x,y,w,h] "
                     "[--steps 300]\n\nGrounds report sentence(s) in one chest X-ray. Writes per prompt "
                     "promptN_heatmap_512.{npy,h5} (final 512x512 heatmap), promptN_heatmap_orig (original size, "
                     "NaN outside the mapped square) and promptN_overlay.png.",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  Provenance prov = make_provenance(argc, argv);
  prov.options = options_json(vm);
  const std::string out = vm["out"].as<std::string>();
  const std::string format = vm["format"].as<std::string>();
  LDMG_CHECK(format == "npy" || format == "h5", "--format: expected npy or h5, got '{}'", format);
  std::vector<data::Box> boxes;
  if (vm.count("box"))
    for (const auto& s : vm["box"].as<std::vector<std::string>>()) boxes.push_back(parse_box(s));
  const auto grounding = grounding_options_from(vm);
  const data::GrayImage img = data::read_image(vm["image"].as<std::string>(), {.dicom = dicom_conversion_from(vm)});
  LDMG_CHECK(img.bit_depth == 8, "'{}': only 8-bit images can be drawn in the overlay", vm["image"].as<std::string>());
  for (const auto& b : boxes)
    LDMG_CHECK(b.x + b.w <= img.width && b.y + b.h <= img.height, "--box {},{},{},{} lies outside the {}x{} image",
               b.x, b.y, b.w, b.h, img.width, img.height);
  std::filesystem::create_directories(out);

  pipeline::ModelBundle models = pipeline::load_models(model_paths_from(vm), vm["device"].as<std::string>(), precision_from(vm));
  for (const auto& [role, hex] : models.file_hashes) prov.files[role] = hex;
  const auto prompts_text = vm["prompt"].as<std::vector<std::string>>();
  std::vector<pipeline::PromptInput> prompts;
  for (const auto& p : prompts_text) {
    LDMG_CHECK(!p.empty(), "--prompt: empty prompt");
    prompts.push_back({p, vm["category"].as<std::string>()});
  }
  const at::Tensor x = data::preprocess_image(img, 512);
  std::optional<Progress> progress;  // created at the first step, when the total is known
  const auto g = pipeline::ground_image(models, x, prompts, grounding, nullptr, [&](int done, int total) {
    if (!progress) progress.emplace("inversion steps", total);
    progress->update(done);
  });
  if (progress) progress->finish();

  nlohmann::json report;
  report["provenance"] = prov.to_json();
  report["image"] = {{"path", vm["image"].as<std::string>()}, {"format", data::to_string(img.format)},
                     {"width", img.width}, {"height", img.height}};
  if (img.dicom) report["image"]["dicom"] = data::dicom_info_json(*img.dicom);
  report["unet_calls"] = g.stats.unet_calls;
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    const auto& h = g.prompts[p].per_config[0];
    const at::Tensor final512 = h.post.final.contiguous();
    const at::Tensor orig = grounding::back_to_original(final512, img.width, img.height).contiguous();
    const std::string stem = fmt::format("{}/prompt{}", out, p);
    if (format == "npy") {
      io::write_npy(stem + "_heatmap_512.npy", io::DType::F32, {final512.size(0), final512.size(1)}, final512.data_ptr());
      io::write_npy(stem + "_heatmap_orig.npy", io::DType::F32, {orig.size(0), orig.size(1)}, orig.data_ptr());
    } else {
      auto f = io::h5::File::create(stem + "_heatmaps.h5");
      f.set_string_attr("provenance", prov.to_json().dump());
      f.set_string_attr("prompt", prompts[p].prompt);
      f.write_floats("heatmap_512", {final512.data_ptr<float>(), static_cast<std::size_t>(final512.numel())},
                     {final512.size(0), final512.size(1)});
      f.write_floats("heatmap_orig", {orig.data_ptr<float>(), static_cast<std::size_t>(orig.numel())},
                     {orig.size(0), orig.size(1)});
      f.commit();
    }
    std::vector<viz::OverlayBox> ob;
    for (const auto& b : boxes) ob.push_back({double(b.x), double(b.y), double(b.w), double(b.h)});
    viz::render_overlay({img.width, img.height, img.pixels.data()}, orig.data_ptr<float>(), ob, prompts[p].prompt)
        .save_png(stem + "_overlay.png");
    nlohmann::json e = {{"prompt", prompts[p].prompt},
                        {"token_ids", g.prompts[p].ids},
                        {"token_slice", {h.tokens.begin, h.tokens.end}},
                        {"otsu_threshold", h.post.threshold},
                        {"otsu_margin", h.post.otsu_margin},
                        {"files", {stem + "_heatmap_512." + format, stem + "_overlay.png"}}};
    if (!boxes.empty()) {
      const auto m = pipeline::score_heatmap(final512, boxes, img.width, img.height);
      e["metrics"] = {{"cnr_abs", m.abs_cnr}, {"cnr", m.cnr}, {"miou", m.miou}, {"auroc", m.auroc},
                      {"auroc_exact", m.auroc_exact}};
      std::cout << fmt::format("prompt {}: |CNR| {:.4f}  CNR {:.4f}  mIoU {:.4f}  AUC-ROC {:.4f}\n", p, m.abs_cnr, m.cnr,
                               m.miou, m.auroc);
    }
    report["prompts"].push_back(e);
  }
  io::write_file_atomic(out + "/ground.json", report.dump(2) + "\n");
  log::info("wrote {}/prompt*_heatmap_512.{}, *_overlay.png, ground.json", out, format);
  return 0;
}

}  // namespace ldmg::cli
