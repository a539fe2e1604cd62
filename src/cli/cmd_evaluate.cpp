// `ldmground evaluate`: every MS-CXR pair through the pipeline; pairs.csv,
// summary.json/md like the paper's Table I, optional heatmaps.h5.
#include <filesystem>

#include "cli/pipeline_options.h"
#include "core/check.h"
#include "core/log.h"
#include "core/provenance.h"
#include "data/ms_cxr.h"
#include "pipeline/evaluation.h"
#include "pipeline/heatmap_store.h"

namespace ldmg::cli {

int run_evaluate(int argc, char** argv) {
  po::options_description desc("evaluate options");
  add_common_options(desc);
  desc.add_options()
      ("dataset", po::value<std::string>()->required(), "MS-CXR CSV (MS_CXR_Local_Alignment_v1.x.csv)")
      ("images", po::value<std::string>()->required(), "MIMIC-CXR-JPG root the CSV's `path` column is relative to")
      ("out", po::value<std::string>()->required(), "output folder")
      ("save-heatmaps", po::bool_switch(), "also write OUT/heatmaps.h5 (/pairs/<pair>/heatmap_512)")
      ("fail-fast", po::bool_switch(), "stop at the first failed pair instead of recording it");
  add_pair_scoring_options(desc);
  add_dicom_conversion_option(desc);
  add_model_options(desc);
  add_grounding_options(desc);
  add_batch_option(desc);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground evaluate --model-dir DIR --dataset CSV --images ROOT --out OUT [--steps 300] "
                     "[options]\n\nRuns every image-sentence pair of MS-CXR through the grounding pipeline and scores "
                     "it (|CNR|, CNR, mIoU, AUC-ROC).",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  Provenance prov = make_provenance(argc, argv);
  prov.options = options_json(vm);

  pipeline::EvaluateOptions eo;
  eo.dataset_csv = vm["dataset"].as<std::string>();
  eo.images_root = vm["images"].as<std::string>();
  eo.grounding = grounding_options_from(vm);
  eo.survival = data::parse_survival_rule(vm["box-rule"].as<std::string>());
  eo.limit = vm["limit"].as<int>();
  eo.category = vm["category"].as<std::string>();
  eo.fail_fast = vm["fail-fast"].as<bool>();
  eo.dicom_conversion = dicom_conversion_from(vm);
  const int requested_batch = batch_images_option(vm);
  const std::string out = vm["out"].as<std::string>();
  std::filesystem::create_directories(out);

  // Fail on a bad CSV or selection before spending a minute loading real-size weights.
  const data::MsCxrDataset dataset = data::read_ms_cxr(eo.dataset_csv, {.images_root = eo.images_root});
  pipeline::select_pairs(dataset, eo);
  pipeline::ModelBundle models = pipeline::load_models(model_paths_from(vm), vm["device"].as<std::string>(), precision_from(vm));
  for (const auto& [role, hex] : models.file_hashes) prov.files[role] = hex;
  eo.batch_images = resolve_batch_images(requested_batch, models.device, eo.grounding.mode);

  std::unique_ptr<pipeline::HeatmapStore> store;
  if (vm["save-heatmaps"].as<bool>())
    store = std::make_unique<pipeline::HeatmapStore>(out + "/heatmaps.h5", prov.to_json(), eo.grounding.configs);
  const auto result = pipeline::run_evaluation(models, dataset, eo, [&](const pipeline::PairHeatmap& h) {
    if (store) store->add(h);
  });
  if (store) store->commit();

  pipeline::ReportOptions ro;
  ro.bootstrap = bootstrap_from(vm);
  for (std::size_t c = 0; c < eo.grounding.configs.size(); ++c) {
    const auto& cfg = eo.grounding.configs[c];
    const std::string dir = c == 0 ? out : out + "/" + cfg.name();
    ro.title = fmt::format("ldmground evaluate, T={}, {}", eo.grounding.T, cfg.name());
    nlohmann::json pj = prov.to_json();
    pj["heatmap_config"] = cfg.name();
    // Only when DICOM was read: the outputs of PNG/JPEG runs stay as they were.
    if (result.dicom_images > 0)
      pj["dicom"] = {{"conversion", data::to_string(eo.dicom_conversion)}, {"images", result.dicom_images}};
    pipeline::write_evaluation_report(dir, result.rows[c], result.class_order, ro, pj);
    log::info("wrote {}/pairs.csv, summary.json, summary.md", dir);
  }
  std::size_t failed = 0;
  for (const auto& r : result.rows[0]) failed += !r.error.empty();
  log::info("{} pairs from {} images in {:.1f} s ({:.2f} s per image, {} U-Net calls)", result.rows[0].size(),
            result.images, result.seconds, result.seconds / std::max<std::size_t>(1, result.images), result.unet_calls);
  if (failed) log::error("{} pair(s) failed; they are marked skipped=error in pairs.csv and their errors are logged above", failed);
  return failed ? 1 : 0;
}

}  // namespace ldmg::cli
