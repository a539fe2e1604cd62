#include "sweep/runtime_env.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <hdf5.h>
#include <link.h>
#include <mpi.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#if LDMG_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include "core/threads.h"
#include "core/version.h"

#ifndef LDMG_HAVE_CUDA
#error "runtime_env.cpp needs LDMG_HAVE_CUDA (0 or 1) from CMake"
#endif
#ifndef LDMG_HAVE_NCCL
#error "runtime_env.cpp needs LDMG_HAVE_NCCL (0 or 1) from CMake"
#endif

namespace ldmg::sweep {

namespace {

std::string mpi_library_version() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "unknown";
  std::string s(buf, static_cast<std::size_t>(len));
  return s.substr(0, s.find_first_of(",\n"));  // "Open MPI v4.1.4", without the build details
}

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

// "12080" -> "12.8" (CUDA runtime and driver versions are 1000*major + 10*minor).
std::string cuda_version_string(long v) {
  if (v <= 0) return "";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

nlohmann::ordered_json cuda_devices() {
  nlohmann::ordered_json devices = nlohmann::ordered_json::array();
#if LDMG_HAVE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver / no device: an answer, not an error
    return devices;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    devices.push_back(nlohmann::ordered_json{{"index", i},
                       {"name", p.name},
                       {"memory_gib", static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0)},
                       {"compute_capability", std::to_string(p.major) + "." + std::to_string(p.minor)}});
  }
#endif
  return devices;
}

// 92600 -> "9.26.0" (major * 10000 + minor * 100 + patch).
std::string cudnn_version_string(long v) {
  if (v <= 0) return "";
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." + std::to_string(v % 100);
}

std::string cuda_driver_version() {
#if LDMG_HAVE_CUDA
  int v = 0;
  if (cudaDriverGetVersion(&v) == cudaSuccess) return cuda_version_string(v);
  cudaGetLastError();
#endif
  return "";
}

}  // namespace

std::string loaded_library(const std::string& prefix) {
  struct Query {
    const std::string* prefix;
    std::string found;
  } q{&prefix, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* q = static_cast<Query*>(data);
        if (!info->dlpi_name || !*info->dlpi_name) return 0;
        const std::string name = std::filesystem::path(info->dlpi_name).filename().string();
        if (name.rfind(*q->prefix, 0) == 0 && name.size() > q->prefix->size() && name[q->prefix->size()] == '.') {
          q->found = info->dlpi_name;
          return 1;
        }
        return 0;
      },
      &q);
  return q.found;
}

nlohmann::ordered_json runtime_env() {
  nlohmann::ordered_json e;
  e["ldmground"] = version_string();
  e["libtorch"] = TORCH_VERSION;
  e["cuda_built"] = static_cast<bool>(LDMG_HAVE_CUDA);
  e["libtorch_cuda"] = loaded_library("libtorch_cuda");
  const auto& hooks = at::detail::getCUDAHooks();
  e["cuda_available"] = torch::cuda::is_available();
  // Versions LibTorch's CUDA part was built with (known without a device).
  const bool torch_cuda = !e["libtorch_cuda"].get<std::string>().empty();
  e["cuda_runtime"] = torch_cuda ? cuda_version_string(hooks.versionCUDART()) : "";
  e["cuda_driver"] = cuda_driver_version();
  e["cudnn"] = torch_cuda && hooks.compiledWithCuDNN() ? cudnn_version_string(hooks.versionCuDNN()) : "";
  e["devices"] = cuda_devices();
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  e["cuda_visible_devices"] = visible ? visible : "(unset)";
  e["nccl_built"] = static_cast<bool>(LDMG_HAVE_NCCL);
  e["libnccl"] = loaded_library("libnccl");
  e["mpi"] = mpi_library_version();
  e["hdf5"] = hdf5_version();
  e["threads"] = at::get_num_threads();
  e["cores"] = available_cores();
  e["openmp"] = at::hasOpenMP();
  e["mkl"] = at::hasMKL();
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  e["host"] = host;
  return e;
}

std::string format_runtime_env(const nlohmann::ordered_json& env) {
  std::ostringstream out;
  for (const auto& [key, value] : env.items()) {
    out << key << std::string(key.size() < 20 ? 20 - key.size() : 1, ' ');
    if (key == "devices") {
      if (value.empty()) out << "none visible";
      for (std::size_t i = 0; i < value.size(); ++i) {
        const auto& d = value[i];
        out << (i ? "\n" + std::string(20, ' ') : "") << "cuda:" << d["index"].get<int>() << " "
            << d["name"].get<std::string>() << ", " << static_cast<int>(d["memory_gib"].get<double>() + 0.5)
            << " GiB, sm " << d["compute_capability"].get<std::string>();
      }
    } else if (value.is_string()) {
      const auto s = value.get<std::string>();
      out << (s.empty() ? "-" : s);
    } else if (value.is_boolean()) {
      out << (value.get<bool>() ? "yes" : "no");
    } else {
      out << value.dump();
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace ldmg::sweep
