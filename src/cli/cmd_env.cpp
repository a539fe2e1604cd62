// `ldmground env`: the build and the machine as this binary sees them
// (LibTorch, CUDA, NCCL, MPI, HDF5, devices, threads): paste it into reports.
#include <iostream>

#include "cli/options.h"
#include "core/check.h"
#include "core/threads.h"
#include "sweep/runtime_env.h"

namespace ldmg::cli {

int run_env(int argc, char** argv) {
  po::options_description desc("env options");
  desc.add_options()("help,h", "show this help and exit")("json", po::bool_switch(), "print one JSON object")(
      "threads", po::value<int>()->default_value(0), "CPU threads for LibTorch, as the other commands set them "
      "(0 = cores available to this process)");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground env [--json]\n\nThe build and the machine as this binary sees them: ldmground "
                     "and LibTorch versions, whether CUDA and NCCL are built in and libtorch_cuda is loaded, the CUDA "
                     "runtime, driver and cuDNN, the devices LibTorch can use, MPI and HDF5 versions, CPU threads. "
                     "Nothing is initialised beyond what answering needs (no MPI_Init, no model).",
                     desc, vm))
    return 0;
  const int threads = vm["threads"].as<int>();
  LDMG_CHECK(threads >= 0, "--threads must be >= 0, got {}", threads);
  set_compute_threads(threads);
  const auto env = sweep::runtime_env();
  if (vm["json"].as<bool>())
    std::cout << env.dump(2) << "\n";
  else
    std::cout << sweep::format_runtime_env(env);
  return 0;
}

}  // namespace ldmg::cli
