// `ldmground sweep`: the MS-CXR pairs x a grid of T values and heatmap
// configs, under mpirun/srun (one rank per GPU, or CPU ranks), with the
// attention cache, exact resume and a graceful stop (sweep/sweep.h).
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <filesystem>
#include <iostream>

#include "cli/job_file.h"
#include "cli/pipeline_options.h"
#include "core/check.h"
#include "core/log.h"
#include "core/threads.h"
#include "core/version.h"
#include "data/box_survival.h"
#include "sweep/mpi_env.h"
#include "sweep/sweep.h"

namespace ldmg::cli {

namespace {

// Options that say how to run, not what to compute: left out of the
// results' provenance so every run of the same job writes the same bytes.
const std::set<std::string> kRunOnlyOptions = {"help", "job", "run", "threads", "log-level", "device",
                                               "retry-failed", "fail-fast", "batch-images"};

}  // namespace

int run_sweep(int argc, char** argv) {
  po::options_description desc("sweep options");
  add_common_options(desc);
  desc.add_options()
      ("job", po::value<std::string>(), "job file (jobs/*.ini): any of these options as 'key = value' lines; "
       "the command line wins")
      ("run", po::value<std::string>()->required(), "run folder: created, or resumed if it exists")
      ("dataset", po::value<std::string>()->required(), "MS-CXR CSV (MS_CXR_Local_Alignment_v1.x.csv)")
      ("images", po::value<std::string>()->required(), "MIMIC-CXR-JPG root the CSV's `path` column is relative to")
      ("class-name", po::value<std::string>()->default_value(""),
       "tokens=pathology: use this class name for every pair instead of its category")
      ("cache", po::value<std::string>()->default_value("full"),
       "attention cache: full (every attn2 layer at every step) | window (every layer, the configs' steps) | none")
      ("cache-dtype", po::value<std::string>()->default_value("float16"), "float16 | float32")
      ("cache-gzip", po::value<int>()->default_value(4), "deflate level of the cache, 0 (none) to 9")
      ("retry-failed", po::bool_switch(), "run the units recorded as failed again")
      ("fail-fast", po::bool_switch(), "stop the sweep at the first failed unit instead of recording it");
  add_pair_scoring_options(desc);
  add_dicom_conversion_option(desc);
  add_model_options(desc);
  add_grounding_options(desc, /*several_T=*/true);
  add_batch_option(desc);
  po::variables_map vm;
  if (!parse_options_with_job(
          argc, argv,
          "usage: [mpirun -np N] ldmground sweep [--job JOB.ini] --run DIR --model-dir DIR --dataset CSV --images ROOT "
          "[--steps T ...] [--config SPEC ...] [options]\n\n"
          "Runs every MS-CXR pair at every T (one work unit = one image at one T with all its prompts), on as many\n"
          "MPI ranks as started (one GPU each where there are GPUs). Caches the attention maps in DIR/cache, records\n"
          "finished units in DIR/ledger, and writes DIR/results/T<T>/<config>/{pairs.csv,summary.json,summary.md}\n"
          "once every unit is done. Run the same command again to resume. Exit status: 0 done, 1 some units failed,\n"
          "75 stopped by SIGTERM/SIGUSR1/SIGINT (resume me).",
          desc, vm))
    return 0;
  sweep::MpiEnv env;
  apply_rank_options(env, vm);

  sweep::SweepOptions o;
  o.run_dir = std::filesystem::absolute(vm["run"].as<std::string>()).lexically_normal().string();
  o.dataset_csv = vm["dataset"].as<std::string>();
  o.images_root = vm["images"].as<std::string>();
  o.Ts = steps_from(vm);
  o.grounding = grounding_options_from(vm);
  o.survival = data::parse_survival_rule(vm["box-rule"].as<std::string>());
  o.class_name_override = vm["class-name"].as<std::string>();
  o.dicom_conversion = dicom_conversion_from(vm);
  o.limit = vm["limit"].as<int>();
  o.category = vm["category"].as<std::string>();
  o.cache = sweep::parse_cache_mode(vm["cache"].as<std::string>());
  const std::string dtype = vm["cache-dtype"].as<std::string>();
  LDMG_CHECK(dtype == "float16" || dtype == "float32", "--cache-dtype: expected float16 or float32, got '{}'", dtype);
  o.cache_options.dtype = dtype == "float16" ? cache::CacheDType::f16 : cache::CacheDType::f32;
  o.cache_options.gzip_level = vm["cache-gzip"].as<int>();
  LDMG_CHECK(o.cache_options.gzip_level >= 0 && o.cache_options.gzip_level <= 9, "--cache-gzip: expected 0..9, got {}",
             o.cache_options.gzip_level);
  o.retry_failed = vm["retry-failed"].as<bool>();
  o.fail_fast = vm["fail-fast"].as<bool>();
  const int requested_batch = batch_images_option(vm);
  o.attention_kernel = vm["attention"].as<std::string>();
  o.report.bootstrap = bootstrap_from(vm);
  nlohmann::json job = options_json(vm);
  for (const auto& k : kRunOnlyOptions) job.erase(k);
  o.job = job;
  o.job_ini = job_file_text(vm, {"help", "job"},
                            fmt::format("# the resolved job of this run folder, written by ldmground {}\n"
                                        "# rerun with: ldmground sweep --job job.ini\n",
                                        version_string()));

  // Device per rank: one GPU each, round robin over the node's GPUs.
  std::string device = vm["device"].as<std::string>();
  if (device == "auto") device = sweep::choose_device(env.local_rank(), torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0);
  if (env.rank() == 0)
    log::info("{} rank(s); rank 0 on {} with {} CPU thread(s)", env.size(), device, at::get_num_threads());
  pipeline::ModelBundle models = pipeline::load_models(model_paths_from(vm), device, precision_from(vm));
  o.batch_images = resolve_batch_images(requested_batch, models.device, o.grounding.mode);
  if (env.rank() == 0 && o.batch_images > 1)
    log::info("--batch-images {}: each rank inverts up to {} units of one T in one U-Net batch",
              vm["batch-images"].as<std::string>(), o.batch_images);

  const sweep::SweepOutcome out = sweep::run_sweep(env, models, o);
  if (env.rank() == 0) {
    if (out.exit_code == 0 || out.exit_code == 1)
      std::cout << fmt::format("sweep done: {} units ({} done before, {} failed) in {:.1f} s; results in {}/results\n",
                               out.units_total, out.units_done_before, out.units_failed, out.seconds, o.run_dir);
  }
  return out.exit_code;
}

}  // namespace ldmg::cli
