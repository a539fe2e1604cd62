#pragma once
// Comparison of the whole pipeline with the goldens of the authors' code on
// the parity fixtures (shared/fixtures/parity): per-pair metrics, skipped
// flags, Otsu thresholds, final heatmaps, summary lines, Table III runs.
// Used by `ldmground parity` and by the integration tests.
#include <map>
#include <string>
#include <vector>

#include "diffusion/inversion.h"
#include "pipeline/model_bundle.h"

namespace ldmg::pipeline {

struct ParityTally {
  double max_err = 0;
  int compared = 0;
  int failures = 0;
  std::vector<std::string> messages;  // one per failure
  void check(double ours, double golden, double tol, const std::string& what);
};

struct ParityReport {
  std::string golden;  // "T20", ...
  int T = 0;
  int pairs = 0;
  double seconds = 0;
  std::map<std::string, ParityTally> tallies;  // quantity -> tally
  int failures() const;
  std::string table() const;  // human-readable summary
};

struct ParityOptions {
  double metric_tolerance = 1e-3;   // fixtures README: metrics 1e-3 abs
  // Where our Otsu threshold is one bin away from the golden's (possible only
  // when the golden otsu_margin is below our heatmap error), whole rings of
  // pixels flip and the metrics move by a few 1e-3.
  double shifted_threshold_metric_tolerance = 5e-3;
  // Blurred, normalised heatmap before Otsu. Float32 U-Net noise (LibTorch 2.x
  // with MKL vs the goldens' torch 1.13 with OpenBLAS) accumulates over the
  // inversion to ~6e-5 (T=20) and ~1.7e-4 (T=50) here; the README's 1e-5
  // assumes the same BLAS library.
  double heatmap_tolerance = 3e-4;
  double margin_floor = 1e-6;       // golden otsu_margin below this: the threshold may move one bin
  bool table3 = true;
  diffusion::InversionMode mode = diffusion::InversionMode::faithful;
};

ParityReport check_parity(const std::string& fixtures, const std::string& golden, ModelBundle& models,
                          const ParityOptions& options = {});

}  // namespace ldmg::pipeline
