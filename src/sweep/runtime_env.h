#pragma once
// What this process runs on, for bug reports and run provenance: the build
// (LibTorch, CUDA, NCCL, MPI, HDF5 versions; whether libtorch_cuda is really
// loaded), the devices LibTorch sees and the CPU threads. `ldmground env`
// prints it; users on clusters paste it into issues.
#include <nlohmann/json.hpp>

#include <string>

namespace ldmg::sweep {

// Gathers the report. Safe before MPI_Init and on machines without a GPU or
// driver (those answers are then false / empty, never an error).
nlohmann::ordered_json runtime_env();

// The report as aligned "key: value" lines.
std::string format_runtime_env(const nlohmann::ordered_json& env);

// The file path of a loaded shared library whose name starts with `prefix`
// (e.g. "libtorch_cuda"), or "" when none is loaded in this process.
std::string loaded_library(const std::string& prefix);

}  // namespace ldmg::sweep
