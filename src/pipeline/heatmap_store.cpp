#include "pipeline/heatmap_store.h"

#include <ATen/ATen.h>

#include "io/hdf5_file.h"

namespace ldmg::pipeline {

struct HeatmapStore::Impl {
  io::h5::File file;
  std::vector<std::string> prefixes;
};

HeatmapStore::HeatmapStore(const std::string& path, const nlohmann::json& provenance,
                           const std::vector<HeatmapConfig>& configs)
    : impl_(new Impl{io::h5::File::create(path, /*atomic=*/true), {}}) {
  impl_->file.set_string_attr("provenance", provenance.dump());
  impl_->file.set_int_attr("schema_version", 1);
  for (std::size_t c = 0; c < configs.size(); ++c) {
    impl_->prefixes.push_back(c == 0 ? "/pairs" : "/configs/" + configs[c].name() + "/pairs");
    impl_->file.require_group(impl_->prefixes.back()).set_string_attr("heatmap_config", configs[c].name());
  }
}

HeatmapStore::~HeatmapStore() = default;

void HeatmapStore::add(const PairHeatmap& h) {
  const at::Tensor m = h.heatmap512.to(at::kFloat).contiguous();
  io::h5::Group g = impl_->file.require_group(impl_->prefixes.at(h.config) + "/" + std::to_string(h.pair));
  io::h5::DatasetOptions opt;
  opt.chunk = {m.size(0), m.size(1)};
  opt.shuffle = true;
  opt.gzip_level = 4;
  io::h5::Dataset d = g.write_floats("heatmap_512", std::span<const float>(m.data_ptr<float>(), m.numel()),
                                     {m.size(0), m.size(1)}, opt);
  d.set_double_attr("otsu_threshold", h.otsu_threshold);
  d.set_double_attr("otsu_margin", h.otsu_margin);
  g.set_ints_attr("token_ids", h.token_ids);
  const std::int64_t slice[2] = {h.tokens.begin, h.tokens.end};
  g.set_ints_attr("token_slice", slice);
}

void HeatmapStore::commit() { impl_->file.commit(); }

}  // namespace ldmg::pipeline
