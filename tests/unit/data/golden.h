#pragma once
// Reading the parity goldens for the data tests.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ldmg::test {

struct GoldenTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// An F32 tensor from a safetensors file; fails the test (throws) when absent.
GoldenTensor golden_tensor(const std::string& path, const std::string& name);

// golden/<T>/metrics.json.
nlohmann::json golden_metrics(const std::string& run);

}  // namespace ldmg::test
