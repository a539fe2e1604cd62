#pragma once
// A zero-cost UnitEngine (src/sweep/unit_engine.h) for the scale simulator:
// no model, no image read. Each unit writes a tiny but valid cache file (one
// 1x1 map per prompt) through the runner's cache writer and returns rows
// whose metrics are a fixed function of (pair, T, config), so the runner's
// plan, queue, ledger, unit results, reports and cache index all do their
// real work while the "model" costs nothing.
#include <csignal>
#include <cstdint>

#include "sweep/sweep.h"
#include "sweep/unit_engine.h"

namespace ldmg::bench {

class StubUnitEngine : public sweep::UnitEngine {
 public:
  std::string describe() const override;
  sweep::SweepSettings settings(const sweep::SweepOptions& o) const override;
  void check_grid(const sweep::SweepOptions& o) const override {}
  nlohmann::json file_hashes() const override;
  void run_units(const sweep::SweepOptions& o, std::vector<sweep::UnitTask>& tasks,
                 const pipeline::OutcomeHook& on_outcome) override;

  // After this many units computed by this process, raise SIGUSR1 (the
  // sweep's graceful stop), leaving a half-finished run. < 0: never.
  void stop_after(std::int64_t units) {
    stop_after_ = units;
    computed_ = 0;
  }

 private:
  std::int64_t stop_after_ = -1;
  std::int64_t computed_ = 0;
};

// The metrics the stub reports for a pair at T under config `config`: an
// independent formula, so tests can recompute them from the pair alone.
pipeline::PairRow stub_row(const data::Pair& pair, int T, int config);

}  // namespace ldmg::bench
