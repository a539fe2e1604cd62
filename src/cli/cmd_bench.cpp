// `ldmground bench`: faithful vs fast inversion timed on the real-size
// architecture with random weights (pipeline/benchmark.h), on the CPU or a
// CUDA device; `--authors PYTHON` also runs bench/official_pipeline.py on the
// same model, device and T; `--export DIR` writes that model in the published
// layout (demo::write_demo_model with demo::bench_model_options).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/options.h"
#include "core/check.h"
#include "core/child_process.h"
#include "core/log.h"
#include "core/provenance.h"
#include "demo/demo_model.h"
#include "io/file_bytes.h"
#include "pipeline/benchmark.h"
#include "pipeline/model_bundle.h"

namespace ldmg::cli {

namespace {

namespace fs = std::filesystem;

std::vector<int> parse_int_list(const std::string& text, const char* option) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      out.push_back(std::stoi(item));
    } catch (const std::exception&) {
      LDMG_FAIL("--{}: '{}' is not a comma-separated list of integers", option, text);
    }
  }
  LDMG_CHECK(!out.empty(), "--{}: empty list", option);
  return out;
}

std::vector<model::Precision> parse_precision_list(const std::string& text) {
  std::vector<model::Precision> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(model::parse_precision(item));
  return out;
}

// official_pipeline.py: --authors-script, else bench/ under the working
// directory, else next to the binary (build/bin/../../bench, a bundle's share/).
std::string find_authors_script(const std::string& given) {
  if (!given.empty()) {
    LDMG_CHECK(fs::exists(given), "--authors-script: no file '{}'", given);
    return given;
  }
  const fs::path exe_dir = fs::path(self_exe()).parent_path();
  for (const fs::path& p : {fs::path("bench/official_pipeline.py"), exe_dir / "../../bench/official_pipeline.py",
                            exe_dir / "../share/ldmground/official_pipeline.py"})
    if (fs::exists(p)) return fs::canonical(p).string();
  LDMG_FAIL("--authors: bench/official_pipeline.py not found (run from the repository root or pass --authors-script)");
}

// Runs the authors' pipeline on `model_dir` and reads its --json output.
pipeline::AuthorsRun run_authors(const std::string& python, const std::string& script, const std::string& model_dir,
                                 const pipeline::BenchOptions& o, int threads, int T) {
  const fs::path json = fs::path(model_dir) / fmt::format("authors_{}.json", ::getpid());
  std::vector<std::string> cmd = {python, script, model_dir, "--T", std::to_string(T), "--target-T",
                                  std::to_string(o.target_T), "--threads", std::to_string(threads), "--device",
                                  o.device, "--json", json.string()};
  log::info("bench: the authors' pipeline: {}", fmt::join(cmd, " "));
  std::cout.flush();
  const int rc = run_child(cmd);
  LDMG_CHECK(rc == 0, "the authors' pipeline ({} {}) exited with status {}", python, script, rc);
  auto a = pipeline::parse_authors_json(io::read_file_bytes(json.string()), json.string());
  fs::remove(json);
  return a;
}

}  // namespace

int run_bench(int argc, char** argv) {
  po::options_description desc("bench options");
  add_common_options(desc);
  desc.add_options()
      ("configs", po::value<std::string>()->default_value("../shared/fixtures/configs"),
       "folder with the authors' ldm/ldm_v0.yaml and stage1/aekl_v0.yaml (the real sizes)")
      ("device", po::value<std::string>()->default_value("auto"),
       "auto (the first GPU if there is one, else the CPU) | cpu | cuda | cuda:N")
      ("T", po::value<int>()->default_value(30), "inversion steps measured (the window and stop point scale with T)")
      ("target-T", po::value<int>()->default_value(300), "inversion steps extrapolated to")
      ("prompts", po::value<std::string>()->default_value("1,2"), "prompts per image, one row per value per mode")
      ("layers", po::value<std::string>()->default_value("3,4,6,7"), "attn2 layers captured")
      ("modes", po::value<std::string>()->default_value("faithful,fast"), "faithful | fast | faithful,fast")
      ("batch-images", po::value<std::string>()->default_value("none"),
       "also rows of the fast inversion of N images batched, as sweep --batch-images N (comma-separated N > 1, "
       "e.g. 4,8; none), timed per image")
      ("seed", po::value<std::uint64_t>()->default_value(1), "seed of the random weights and inputs")
      ("no-flops", "skip the FLOP count of a U-Net call")
      ("measure-all", "also run rows whose call kinds an earlier row measured (faithful x2 = 2 x faithful x1)")
      ("peak-n", po::value<int>()->default_value(4096), "size of the sgemm that measures the matmul peak (0 = skip)")
      ("precision", po::value<std::string>()->default_value("fp32"),
       "U-Net arithmetic of the timed rows: fp32 | bf16 | fp16 | tf32; other than fp32 the report adds the heatmap "
       "and latent error of a fast 1-prompt run against fp32 on the same weights")
      ("call-batches", po::value<std::string>()->default_value("auto"),
       "per-call table: batch sizes of a full U-Net forward (auto: 1,2,4,8 on a GPU, none on the CPU; none)")
      ("call-precisions", po::value<std::string>()->default_value("fp32,tf32,bf16"),
       "per-call table: precisions (fp32 | bf16 | fp16 | tf32, comma-separated)")
      ("call-reps", po::value<int>()->default_value(5), "per-call table: timed calls per entry (median)")
      ("no-cuda-graphs", "per-call table on a GPU: do not also time each call captured once as a CUDA graph and "
       "replayed (the graph column says whether graphs would pay for the inversion's fixed-shape calls)")
      ("authors", po::value<std::string>(),
       "also run the authors' pipeline (bench/official_pipeline.py) with this Python on the same model, device and "
       "T, and compare (needs torch, transformers, pyyaml, monai-generative 0.2.2)")
      ("authors-script", po::value<std::string>()->default_value(""),
       "official_pipeline.py (default: bench/ here or next to the binary)")
      ("authors-T", po::value<int>()->default_value(0), "steps the authors' pipeline runs (0 = --T)")
      ("json", po::value<std::string>(), "also write the results as JSON here")
      ("export", po::value<std::string>(),
       "write the real-size random model folder here (alone: then exit; with --authors: the folder it runs on)");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground bench [--device auto] [--T 30] [--prompts 1,2] [--authors PYTHON] [--export DIR]"
                     "\n\nTimes the faithful and the fast inversion per image-prompt pair on the real-size U-Net "
                     "(random weights) at a reduced T, extrapolates to --target-T from the calls a dry run counts "
                     "there, and prints peak memory, U-Net calls/s and achieved FLOP/s against the matmul peak; on a "
                     "GPU also a table of U-Net calls by batch size and precision. Last line: the 1-prompt speedup "
                     "(fast/faithful; on a GPU with --authors, against the authors' pipeline).",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  pipeline::BenchOptions o;
  o.configs_dir = vm["configs"].as<std::string>();
  o.T = vm["T"].as<int>();
  o.target_T = vm["target-T"].as<int>();
  o.prompts_per_image = parse_int_list(vm["prompts"].as<std::string>(), "prompts");
  for (int p : o.prompts_per_image) LDMG_CHECK(p >= 1, "--prompts: {} is not >= 1", p);
  o.layers = parse_int_list(vm["layers"].as<std::string>(), "layers");
  if (const std::string b = vm["batch-images"].as<std::string>(); b != "none") {
    o.batch_images = parse_int_list(b, "batch-images");
    for (int n : o.batch_images) LDMG_CHECK(n >= 2, "--batch-images: {} is not >= 2 (1 is the single-image rows)", n);
  }
  const std::string modes = vm["modes"].as<std::string>();
  o.run_faithful = modes.find("faithful") != std::string::npos;
  o.run_fast = modes.find("fast") != std::string::npos;
  LDMG_CHECK(o.run_faithful || o.run_fast, "--modes: expected faithful, fast or both, got '{}'", modes);
  o.seed = vm["seed"].as<std::uint64_t>();
  o.flops = !vm.count("no-flops");
  o.derive_covered_rows = !vm.count("measure-all");
  o.peak_matmul_n = vm["peak-n"].as<int>();
  o.precision = model::parse_precision(vm["precision"].as<std::string>());
  o.call_reps = vm["call-reps"].as<int>();
  LDMG_CHECK(o.call_reps >= 1, "--call-reps: expected >= 1, got {}", o.call_reps);
#if LDMG_HAVE_CUDA
  if (!vm.count("no-cuda-graphs")) o.graph_timer = pipeline::time_cuda_graph_replay;
#endif
  const std::string export_dir = vm.count("export") ? vm["export"].as<std::string>() : std::string();
  if (!export_dir.empty() && !vm.count("authors")) {
    demo::write_demo_model(export_dir, demo::bench_model_options(o.configs_dir, o.seed));
    std::cout << "wrote " << export_dir << "\n";
    return 0;
  }
  o.device = pipeline::resolve_device(vm["device"].as<std::string>());
  const bool cuda = o.device.rfind("cuda", 0) == 0;
  const std::string batches = vm["call-batches"].as<std::string>();
  if (batches == "auto")
    o.call_batches = cuda ? std::vector<int>{1, 2, 4, 8} : std::vector<int>{};
  else if (batches != "none")
    o.call_batches = parse_int_list(batches, "call-batches");
  if (!o.call_batches.empty()) o.call_precisions = parse_precision_list(vm["call-precisions"].as<std::string>());

  // The authors' pipeline runs on the model `bench` times, written first
  // (--export DIR, else a temporary folder removed afterwards).
  std::string authors_model;
  bool remove_model = false;
  std::string authors_script;
  if (vm.count("authors")) {
    authors_script = find_authors_script(vm["authors-script"].as<std::string>());
    authors_model = export_dir;
    if (authors_model.empty()) {
      authors_model = (fs::temp_directory_path() / fmt::format("ldmg-bench-model-{}", ::getpid())).string();
      remove_model = true;
    }
    log::info("bench: writing the model for the authors' pipeline to {}", authors_model);
    demo::write_demo_model(authors_model, demo::bench_model_options(o.configs_dir, o.seed));
  }
  auto result = pipeline::run_benchmark(o);
  if (vm.count("authors")) {
    const int authors_T = vm["authors-T"].as<int>() > 0 ? vm["authors-T"].as<int>() : o.T;
    try {
      result.authors = run_authors(vm["authors"].as<std::string>(), authors_script, authors_model, result.options,
                                   result.threads, authors_T);
    } catch (...) {
      if (remove_model) fs::remove_all(authors_model);
      throw;
    }
    if (remove_model) fs::remove_all(authors_model);
  }
  std::cout << result.report();
  if (vm.count("json")) {
    auto j = result.to_json();
    j["provenance"] = make_provenance(argc, argv).to_json();
    io::write_file_atomic(vm["json"].as<std::string>(), j.dump(1) + "\n");
  }
  return 0;
}

}  // namespace ldmg::cli
