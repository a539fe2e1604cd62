#pragma once
// The sweep's units computed by the latent diffusion model: every image of a
// batch through pipeline::score_images (one batched inversion of the units
// of one T in fast mode), its attention streamed to the runner's cache
// writer for the steps the cache mode keeps.
#include "pipeline/model_bundle.h"
#include "sweep/sweep.h"
#include "sweep/unit_engine.h"

namespace ldmg::sweep {

class ModelUnitEngine : public UnitEngine {
 public:
  explicit ModelUnitEngine(pipeline::ModelBundle& models) : models_(models) {}

  std::string describe() const override;
  SweepSettings settings(const SweepOptions& o) const override;
  void check_grid(const SweepOptions& o) const override;
  nlohmann::json file_hashes() const override;
  void run_units(const SweepOptions& o, std::vector<UnitTask>& tasks, const pipeline::OutcomeHook& on_outcome) override;

 private:
  pipeline::ModelBundle& models_;
};

}  // namespace ldmg::sweep
