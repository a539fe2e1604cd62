// `ldmground demo`: everything from nothing. Our own code writes a tiny
// random-weight model in the published formats and a synthetic MS-CXR-style
// dataset, then runs a 2-rank sweep on them with the attention cache, prints
// the summary table, draws overlays from the cache and writes the run's report.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/ranges.h>

#include "cli/options.h"
#include "core/check.h"
#include "core/child_process.h"
#include "core/log.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "io/file_bytes.h"
#include "report/report_site.h"
#include "sweep/cached_overlays.h"
#include "sweep/sweep_report.h"
#include "text/clip_tokenizer.h"

namespace ldmg::cli {

namespace fs = std::filesystem;

int run_demo(int argc, char** argv) {
  po::options_description desc("demo options");
  add_common_options(desc);
  desc.add_options()
      ("out", po::value<std::string>()->default_value("ldmground-demo"), "folder for the model, data, job and run")
      ("ranks", po::value<int>()->default_value(2), "MPI ranks for the sweep (mpirun; 1 runs without it)")
      ("images", po::value<int>()->default_value(8), "synthetic images (1-2 sentences each)")
      ("steps", po::value<int>()->default_value(20), "DDIM inversion steps T")
      ("overlays", po::value<int>()->default_value(4), "overlay PNGs to draw from the cache")
      ("no-run", po::bool_switch(), "only write the model, the data and demo.ini")
      ("device", po::value<std::string>()->default_value("auto"),
       "the sweep's --device: auto (GPU <local rank mod GPUs> where there are GPUs, else the CPU) | cpu | cuda | cuda:N");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground demo [--out DIR] [--ranks 2] [--no-run]\n\n"
                     "Writes a tiny RANDOM-WEIGHT model (published formats: MONAI .pth, HF CLIP text encoder, BPE "
                     "tokenizer)\nand a synthetic MS-CXR-style dataset, then runs `ldmground sweep` on them with the "
                     "attention cache,\nprints the summary, draws overlays and writes the run's report\n"
                     "(DIR/report/index.html). Random weights give meaningless "
                     "heatmaps: this shows the\nmachinery, not the method. For real results see README "
                     "\"Real weights and MS-CXR\".",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  const fs::path out = fs::absolute(vm["out"].as<std::string>()).lexically_normal();
  const int ranks = vm["ranks"].as<int>(), T = vm["steps"].as<int>();
  LDMG_CHECK(ranks >= 1 && ranks <= 64, "--ranks: expected 1..64, got {}", ranks);
  LDMG_CHECK(T >= 10 && T <= 1000, "--steps: expected 10..1000 (below 10 the paper's step window is empty), got {}", T);
  LDMG_CHECK(vm["images"].as<int>() >= 1, "--images: expected at least 1");

  const fs::path model = out / "model", data = out / "data", run = out / "run", job = out / "demo.ini";
  log::info("writing the demo model to {}", model.string());
  demo::write_demo_model(model);
  const demo::DemoDataset ds = demo::write_demo_dataset(data, {.images = vm["images"].as<int>()});
  log::info("wrote {} images, {} pairs: {}", ds.images, ds.pairs, ds.csv);
  io::write_file_atomic(job.string(), fmt::format(
      "# The demo job: a tiny random-weight model on synthetic data (ldmground demo).\n"
      "# Run it: mpirun -np 2 ldmground sweep --job {job}\n"
      "model-dir = {model}\n"
      "dataset = {csv}\n"
      "images = {images}\n"
      "run = {run}\n"
      "steps = {T}\n"
      "mode = fast\n"
      "cache = full\n"
      "# the paper's setup (layers 3,4,6,7, middle window, Otsu) and an ablation on the same inversion\n"
      "config = layers=all;window=paper;otsu=off\n"
      "bootstrap = 200\n",
      fmt::arg("job", job.string()), fmt::arg("model", model.string()), fmt::arg("csv", ds.csv),
      fmt::arg("images", ds.images_root), fmt::arg("run", run.string()), fmt::arg("T", T)));
  log::info("wrote the job file {}", job.string());
  if (vm["no-run"].as<bool>()) return 0;

  std::vector<std::string> cmd;
  const std::string mpiexec = ranks > 1 ? find_on_path("mpiexec") : std::string();
  if (ranks > 1 && mpiexec.empty()) log::warn("mpiexec is not on PATH: running the sweep on one rank");
  if (!mpiexec.empty()) {
    cmd = {mpiexec, "-n", std::to_string(ranks)};
    if (ranks > static_cast<int>(std::thread::hardware_concurrency())) cmd.push_back("--oversubscribe");
    if (::geteuid() == 0 && !std::getenv("OMPI_ALLOW_RUN_AS_ROOT")) {
      // OpenMPI refuses root without these; the demo is a local run.
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
  }
  for (const auto& a : {self_exe(), std::string("sweep"), std::string("--job"), job.string(), std::string("--log-level"),
                        vm["log-level"].as<std::string>(), std::string("--device"), vm["device"].as<std::string>()})
    cmd.push_back(a);
  log::info("running: {}", fmt::join(cmd, " "));
  const int rc = run_child(cmd);
  if (rc != 0) {
    log::error("the demo sweep exited with status {}{}", rc, rc == 75 ? " (stopped: run the demo again to resume)" : "");
    return rc;
  }

  const std::string summary = sweep::results_dir(run.string(), T, pipeline::HeatmapConfig{}.name()) + "/summary.md";
  const std::string md = io::read_file_bytes(summary);
  std::cout << "\n" << md.substr(0, md.find("\nmean ±")) << "\n";
  const auto tok = text::ClipTokenizer::load((model / "tokenizer").string());
  sweep::OverlayRequest rq;
  rq.run_dir = run.string();
  rq.images_root = ds.images_root;
  rq.T = T;
  rq.max_pairs = vm["overlays"].as<int>();
  rq.out_dir = (out / "overlays").string();
  const auto pngs = sweep::write_cached_overlays(rq, tok);
  report::ReportInputs report_inputs;
  report_inputs.run_dir = run.string();
  report::ImageOptions report_images;
  report_images.threads = vm["threads"].as<int>();  // as `ldmground report --threads` (0: every available core)
  const report::ReportOutcome site = report::write_report(report_inputs, (out / "report").string(), report_images);
  std::cout << fmt::format(
      "\nResults: {}\nOverlays (recomputed from the attention cache): {}\n"
      "Report (open it in a browser; no server needed): {}\n\n"
      "These numbers come from RANDOM weights and synthetic images: they exercise the pipeline and mean nothing.\n"
      "With the real MONAI CXR LDM weights and MS-CXR (README \"Real weights and MS-CXR\"):\n"
      "  mpirun -np <GPUs> ldmground sweep --model-dir <bundle> --dataset MS_CXR_Local_Alignment_v1.1.0.csv "
      "--images <mimic-cxr-jpg> --run runs/paper --steps 300\n",
      fs::path(summary).parent_path().string(), pngs.empty() ? std::string("none") : fmt::format("{}", fmt::join(pngs, ", ")),
      site.index_html);
  return 0;
}

}  // namespace ldmg::cli
