// The whole pipeline (image -> tokenizer/text encoder -> autoencoder ->
// inversion with capture -> heatmap -> metrics) against the goldens of the
// authors' code: every pair's skipped flag and metrics within 1e-3, final
// heatmaps within 1e-5 where the Otsu margin allows, summary lines, Table III.
#include <gtest/gtest.h>

#include <iostream>

#include "core/threads.h"
#include "pipeline/parity.h"
#include "support/fixtures.h"

using namespace ldmg;

namespace {
pipeline::ModelBundle& fixture_models() {
  static pipeline::ModelBundle models = [] {
    set_compute_threads(0);
    pipeline::ModelPaths paths;
    paths.fill_from_dir(test::parity_dir() + "/models");
    return pipeline::load_models(paths);
  }();
  return models;
}

void expect_parity(const std::string& golden, diffusion::InversionMode mode) {
  pipeline::ParityOptions opt;
  opt.mode = mode;
  const auto rep = pipeline::check_parity(test::parity_dir(), golden, fixture_models(), opt);
  std::cout << rep.table();
  EXPECT_EQ(rep.failures(), 0) << rep.table();
  EXPECT_GT(rep.tallies.at("|CNR|").compared, 0);
  EXPECT_GT(rep.tallies.at("normalised heatmap").compared, 0);
}
}  // namespace

TEST(ParityPipeline, GoldenT20) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  expect_parity("T20", diffusion::InversionMode::faithful);
}

TEST(ParityPipeline, GoldenT50) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  expect_parity("T50", diffusion::InversionMode::faithful);
}

TEST(ParityPipeline, GoldenT20LibraryStepper) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  expect_parity("T20_libstep", diffusion::InversionMode::faithful);
}

// The fast path (shared unconditional chain, conditional prompts only where
// captured, early stop) must give the faithful numbers.
TEST(ParityPipeline, FastModeMatchesGoldenT20) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  expect_parity("T20", diffusion::InversionMode::fast);
}
