#include "golden.h"

#include <cstring>
#include <fstream>

#include "core/check.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

namespace ldmg::test {

GoldenTensor golden_tensor(const std::string& path, const std::string& name) {
  const io::TensorArchive ar = io::read_safetensors(path);
  const io::TensorRecord* rec = ar.find(name);
  LDMG_CHECK(rec, "'{}' has no tensor '{}'", path, name);
  LDMG_CHECK(rec->dtype == io::DType::F32, "'{}': '{}' is not F32", path, name);
  GoldenTensor t;
  t.shape = rec->shape;
  t.values.resize(static_cast<std::size_t>(io::numel_of(rec->shape)));
  std::memcpy(t.values.data(), ar.bytes.data() + rec->data_offset, t.values.size() * 4);
  return t;
}

nlohmann::json golden_metrics(const std::string& run) {
  const std::string path = parity_dir() + "/golden/" + run + "/metrics.json";
  std::ifstream in(path);
  LDMG_CHECK(in, "cannot open '{}'", path);
  return nlohmann::json::parse(in);
}

}  // namespace ldmg::test
