#include "cli/options.h"

#include <fmt/format.h>

#include <iostream>

#include "analysis/run_inputs.h"
#include "cli/job_file.h"
#include "core/check.h"
#include "core/log.h"
#include "core/threads.h"
#include "model/attention_math.h"
#include "sweep/mpi_env.h"

namespace ldmg::cli {

void add_common_options(po::options_description& desc) {
  desc.add_options()
      ("help,h", "show this help and exit")
      ("threads", po::value<int>()->default_value(0),
       "CPU threads: LibTorch's, or report's picture-drawing workers (0 = cores available to this process)")
      ("log-level", po::value<std::string>()->default_value("info"), "debug | info | warn | error")
      ("attention", po::value<std::string>()->default_value("fused"),
       "attention whose probabilities are not captured: fused (scaled_dot_product_attention) | explicit "
       "(the authors' baddbmm + softmax arithmetic)");
}

void add_pair_scoring_options(po::options_description& desc) {
  desc.add_options()
      ("limit", po::value<int>()->default_value(-1), "only the first N pairs (after --category)")
      ("category", po::value<std::string>()->default_value(""), "only pairs of this category")
      ("box-rule", po::value<std::string>()->default_value("faithful"),
       "faithful: the authors' raster test (interpolation halos keep cropped boxes) | geometric")
      ("bootstrap", po::value<int>()->default_value(1000), "bootstrap resamples for the 95% intervals (0 = none)")
      ("seed", po::value<std::uint64_t>()->default_value(0), "bootstrap seed");
}

metrics::BootstrapOptions bootstrap_from(const po::variables_map& vm) {
  metrics::BootstrapOptions b;
  b.resamples = vm["bootstrap"].as<int>();
  b.seed = vm["seed"].as<std::uint64_t>();
  return b;
}

bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& desc,
                   po::variables_map& vm, const po::positional_options_description* positional) {
  try {
    auto parser = po::command_line_parser(argc, argv).options(desc);  // skips argv[0] (the command name)
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << desc << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    LDMG_FAIL("{}: {} (see 'ldmground {} --help')", argv[0], e.what(), argv[0]);
  }
  return true;
}

void apply_rank_options(const sweep::MpiEnv& env, const po::variables_map& vm) {
  if (env.size() > 1) log::set_prefix(env.label());
  if (env.rank() != 0) log::set_stderr_level(log::Level::warn);  // rank 0 speaks; the others log to files
  apply_common_options(vm);
  if (vm["threads"].as<int>() == 0) set_compute_threads(env.cpu_threads());
}

RunFolderCommand::RunFolderCommand(const std::string& command, const std::string& job_help,
                                   const std::string& out_help)
    : command_(command), desc_(command + " options") {
  add_common_options(desc_);
  desc_.add_options()
      ("job", po::value<std::string>(), job_help.c_str())
      ("run", po::value<std::string>()->required(), "a finished sweep's run folder (with its attention cache)")
      ("out", po::value<std::string>()->required(), out_help.c_str())
      ("reduce", po::value<std::string>()->default_value("auto"), "how the ranks' scores reach rank 0 under MPI: "
       "auto (NCCL when built with it and every rank sees a GPU, else MPI) | mpi | nccl");
}

RunFolderCommand::~RunFolderCommand() = default;

bool RunFolderCommand::parse(int argc, char** argv, const std::string& args, const std::string& about) {
  const std::string usage =
      fmt::format("usage: [mpirun -np N] ldmground {} --run RUN --out OUT {}\n\n{}", command_, args, about);
  if (!parse_options_with_job(argc, argv, usage, desc_, vm_)) return false;
  env_ = std::make_unique<sweep::MpiEnv>();
  apply_rank_options(*env_, vm_);
  out_ = vm_["out"].as<std::string>();
  reduce_ = sweep::parse_reduce_backend(vm_["reduce"].as<std::string>());
  run_ = std::make_unique<analysis::RunInputs>(vm_["run"].as<std::string>());
  return true;
}

void apply_common_options(const po::variables_map& vm) {
  const std::string lvl = vm["log-level"].as<std::string>();
  if (lvl == "debug") log::set_level(log::Level::debug);
  else if (lvl == "info") log::set_level(log::Level::info);
  else if (lvl == "warn") log::set_level(log::Level::warn);
  else if (lvl == "error") log::set_level(log::Level::error);
  else LDMG_FAIL("--log-level: '{}' is not one of debug, info, warn, error", lvl);
  const int threads = vm["threads"].as<int>();
  LDMG_CHECK(threads >= 0, "--threads must be >= 0, got {}", threads);
  set_compute_threads(threads);
  const std::string kernel = vm["attention"].as<std::string>();
  LDMG_CHECK(kernel == "fused" || kernel == "explicit", "--attention: expected fused or explicit, got '{}'", kernel);
  model::set_attention_kernel(kernel == "fused" ? model::AttentionKernel::fused : model::AttentionKernel::explicit_math);
}

}  // namespace ldmg::cli
