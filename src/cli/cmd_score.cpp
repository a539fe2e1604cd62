// `ldmground score`: another method's predictions (heatmaps or boxes) scored
// under evaluate's protocol; writes evaluate's pairs.csv and summary.* so that
// `compare`, the figures and the report take them next to our runs.
#include <filesystem>

#include "cli/options.h"
#include "cli/pipeline_options.h"
#include "core/check.h"
#include "core/log.h"
#include "core/provenance.h"
#include "core/sha256.h"
#include "data/ms_cxr.h"
#include "pipeline/external_scoring.h"

namespace ldmg::cli {

int run_score(int argc, char** argv) {
  po::options_description desc("score options");
  add_common_options(desc);
  desc.add_options()
      ("dataset", po::value<std::string>()->required(), "MS-CXR CSV (MS_CXR_Local_Alignment_v1.x.csv)")
      ("images", po::value<std::string>()->required(), "MIMIC-CXR-JPG root the CSV's `path` column is relative to "
       "(the images' sizes place the maps, as in evaluate)")
      ("predictions", po::value<std::string>()->required(), "the method's predictions: HDF5 "
       "(<group>/<pair>/heatmap or heatmap_512), a folder of <pair>.npy, or a CSV pair,x,y,w,h,score")
      ("out", po::value<std::string>()->required(), "output folder: pairs.csv, summary.json, summary.md, summary.log")
      ("format", po::value<std::string>()->default_value("auto"), "auto (folder: npy, .h5: h5, .csv: boxes) | h5 | "
       "npy | boxes")
      ("h5-group", po::value<std::string>()->default_value("/pairs"), "HDF5 group holding <pair>/heatmap "
       "(evaluate's other configs: /configs/<name>/pairs)")
      ("method", po::value<std::string>()->default_value(""), "the method's name in titles and tables (default: the "
       "predictions' file stem or folder name)")
      ("otsu", po::value<std::string>()->default_value("on"), "on: our binary Otsu on the map (as our pipeline) | off: "
       "score the map as given (final maps: evaluate's heatmaps.h5, BioViL, boxes)")
      ("clamp-negative", po::bool_switch(), "set negative values to 0 first (BioViL/BioViL-T: negative cosine "
       "similarities, as the authors' eval_biovil_t.py)")
      ("box-map", po::value<std::string>()->default_value("max"), "boxes -> map: max = each pixel takes the highest "
       "score of the boxes covering it, 0 elsewhere")
      ("fail-fast", po::bool_switch(), "stop at the first unreadable image instead of recording its pairs as failed");
  add_pair_scoring_options(desc);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground score --dataset CSV --images ROOT --predictions FILE|DIR --out OUT "
                     "[--otsu on|off] [--clamp-negative] [options]\n\nScores another method's heatmaps or boxes for "
                     "every MS-CXR pair with evaluate's preprocessing, box survival,\nback-mapping and metrics "
                     "(|CNR|, CNR, mIoU, AUC-ROC) and writes evaluate's report files.",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  Provenance prov = make_provenance(argc, argv);
  prov.options = options_json(vm);

  const std::string pred_path = vm["predictions"].as<std::string>();
  pipeline::ExternalScoringOptions so;
  so.dataset_csv = vm["dataset"].as<std::string>();
  so.survival = data::parse_survival_rule(vm["box-rule"].as<std::string>());
  so.limit = vm["limit"].as<int>();
  so.category = vm["category"].as<std::string>();
  so.fail_fast = vm["fail-fast"].as<bool>();
  const std::string otsu = vm["otsu"].as<std::string>();
  LDMG_CHECK(otsu == "on" || otsu == "off", "--otsu '{}': expected on or off", otsu);
  so.conventions.otsu = otsu == "on";
  so.conventions.clamp_negative = vm["clamp-negative"].as<bool>();
  so.conventions.box_map = pipeline::parse_box_map(vm["box-map"].as<std::string>());

  const data::MsCxrDataset dataset = data::read_ms_cxr(so.dataset_csv, {.images_root = vm["images"].as<std::string>()});
  pipeline::PredictionSourceOptions po_;
  po_.path = pred_path;
  po_.format = pipeline::parse_prediction_format(vm["format"].as<std::string>(), pred_path);
  po_.h5_group = vm["h5-group"].as<std::string>();
  for (const auto& p : dataset.pairs()) po_.known_pairs.push_back(p.index);
  const auto predictions = pipeline::open_predictions(po_);
  if (std::filesystem::is_regular_file(pred_path)) prov.files["predictions"] = "sha256:" + sha256_file(pred_path) + " " + pred_path;

  // Default name: the file's stem (medrpg_boxes.csv -> medrpg_boxes) or the folder's name.
  std::string method = vm["method"].as<std::string>();
  std::filesystem::path norm = std::filesystem::path(pred_path).lexically_normal();
  if (!norm.has_filename()) norm = norm.parent_path();  // "biovil_maps/"
  if (method.empty()) method = (std::filesystem::is_regular_file(norm) ? norm.stem() : norm.filename()).string();

  const auto rows = pipeline::score_external(dataset, *predictions, so);

  pipeline::ReportOptions ro;
  ro.bootstrap = bootstrap_from(vm);
  ro.title = fmt::format("ldmground score, {}", method);
  nlohmann::json pj = prov.to_json();
  pj["tool"] = "score";
  pj["method"] = method;
  pj["predictions"] = {{"path", pred_path}, {"format", pipeline::to_string(predictions->format())}};
  if (predictions->format() == pipeline::PredictionFormat::h5) pj["predictions"]["h5_group"] = po_.h5_group;
  pj["conventions"] = {{"otsu", so.conventions.otsu},
                       {"clamp_negative", so.conventions.clamp_negative},
                       {"box_map", pipeline::to_string(so.conventions.box_map)},
                       {"box_rule", data::to_string(so.survival)}};
  const std::string out = vm["out"].as<std::string>();
  pipeline::write_evaluation_report(out, rows, dataset.categories(), ro, pj);
  std::size_t failed = 0, scored = 0;
  for (const auto& r : rows) {
    failed += !r.error.empty();
    scored += r.error.empty() && !r.skipped;
  }
  log::info("score: {} pairs ({} scored) of '{}' -> {}/pairs.csv, summary.json, summary.md, summary.log", rows.size(),
            scored, method, out);
  if (failed) log::error("{} pair(s) failed (unreadable image); they are marked skipped=error in pairs.csv", failed);
  return failed ? 1 : 0;
}

}  // namespace ldmg::cli
