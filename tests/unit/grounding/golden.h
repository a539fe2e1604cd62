#pragma once
// Reading the parity goldens in tests: sample files as float32 tensors, and
// metrics.json. Shared by the diffusion, grounding and metrics tests.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "core/check.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

namespace ldmg::test {

// Every F32 tensor of a safetensors file (the goldens store everything as F32).
inline std::map<std::string, at::Tensor> load_golden(const std::string& path) {
  const io::TensorArchive ar = io::read_safetensors(path);
  std::map<std::string, at::Tensor> out;
  for (const io::TensorRecord& r : ar.tensors) {
    LDMG_CHECK(r.dtype == io::DType::F32, "{}: tensor {} is not F32", path, r.name);
    at::Tensor t = at::empty(r.shape, at::kFloat);
    std::memcpy(t.data_ptr<float>(), ar.bytes.data() + r.data_offset, t.numel() * sizeof(float));
    out.emplace(r.name, t);
  }
  return out;
}

inline nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  LDMG_CHECK(in.good(), "cannot open {}", path);
  return nlohmann::json::parse(in);
}

inline std::string golden_dir(const std::string& run) { return parity_dir() + "/golden/" + run; }

// Max |a - b| over elements where both are finite; NaN positions must agree.
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  LDMG_CHECK(a.sizes() == b.sizes(), "shape mismatch");
  const at::Tensor ad = a.to(at::kDouble).contiguous(), bd = b.to(at::kDouble).contiguous();
  const double* pa = ad.data_ptr<double>();
  const double* pb = bd.data_ptr<double>();
  double m = 0;
  for (std::int64_t i = 0; i < ad.numel(); ++i) {
    if (std::isnan(pa[i]) || std::isnan(pb[i])) {
      if (std::isnan(pa[i]) != std::isnan(pb[i])) return INFINITY;
      continue;
    }
    m = std::max(m, std::abs(pa[i] - pb[i]));
  }
  return m;
}

}  // namespace ldmg::test
