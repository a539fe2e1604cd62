#pragma once
// OUT/heatmaps.h5 of `evaluate --save-heatmaps`: /pairs/<pair>/heatmap_512
// (float32 512x512, the final heatmap) for the first heatmap config, and
// /configs/<name>/pairs/<pair>/heatmap_512 for the others. Attributes carry
// the Otsu threshold and margin, the token ids and slice, and (on the file)
// the run's provenance. Written to heatmaps.h5.tmp, renamed by commit().
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "pipeline/evaluation.h"
#include "pipeline/heatmap_config.h"

namespace ldmg::pipeline {

class HeatmapStore {
 public:
  HeatmapStore(const std::string& path, const nlohmann::json& provenance, const std::vector<HeatmapConfig>& configs);
  ~HeatmapStore();
  void add(const PairHeatmap& h);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ldmg::pipeline
