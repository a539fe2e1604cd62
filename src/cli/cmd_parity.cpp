// `ldmground parity`: the whole pipeline on the parity fixtures (tiny
// random-weight models in the published formats) against the goldens that
// the authors' own code produced.
#include <filesystem>
#include <iostream>

#include "cli/pipeline_options.h"
#include "core/check.h"
#include "pipeline/parity.h"

namespace ldmg::cli {

int run_parity(int argc, char** argv) {
  po::options_description desc("parity options");
  add_common_options(desc);
  desc.add_options()
      ("fixtures", po::value<std::string>()->default_value("../shared/fixtures/parity"),
       "the parity fixture folder (models/, dataset/, golden/)")
      ("golden", po::value<std::vector<std::string>>()->multitoken(),
       "golden run(s) to compare with (default: T20 T20_libstep T50)")
      ("mode", po::value<std::string>()->default_value("faithful"), "inversion mode: faithful | fast")
      ("device", po::value<std::string>()->default_value("auto"),
       "auto (the first GPU if there is one, else the CPU) | cpu | cuda | cuda:N; the tolerances are the same")
      ("tolerance", po::value<double>()->default_value(1e-3), "max |diff| per metric");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground parity [--fixtures DIR] [--golden T20 ...] [--device cuda]\n\nRuns the whole pipeline on the "
                     "parity fixtures and compares every pair's metrics and skipped flag, the Otsu thresholds, the "
                     "final heatmaps, the summary and the Table III runs with the goldens of the authors' code. "
                     "Exit status 0 when everything agrees.",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  const std::string fixtures = vm["fixtures"].as<std::string>();
  LDMG_CHECK(std::filesystem::is_directory(fixtures + "/golden"),
             "'{}' is not a parity fixture folder (no golden/ inside); pass --fixtures", fixtures);
  std::vector<std::string> goldens = {"T20", "T20_libstep", "T50"};
  if (vm.count("golden")) goldens = vm["golden"].as<std::vector<std::string>>();
  pipeline::ParityOptions po_;
  po_.metric_tolerance = vm["tolerance"].as<double>();
  const auto mode = vm["mode"].as<std::string>();
  LDMG_CHECK(mode == "faithful" || mode == "fast", "--mode: expected faithful or fast, got '{}'", mode);
  po_.mode = mode == "fast" ? diffusion::InversionMode::fast : diffusion::InversionMode::faithful;
  pipeline::ModelPaths paths;
  paths.fill_from_dir(fixtures + "/models");
  pipeline::ModelBundle models = pipeline::load_models(paths, vm["device"].as<std::string>());
  std::cout << "parity on " << models.device << "\n";
  int failures = 0;
  for (const auto& g : goldens) {
    const auto rep = pipeline::check_parity(fixtures, g, models, po_);
    std::cout << rep.table() << "\n";
    failures += rep.failures();
  }
  std::cout << (failures ? fmt::format("parity: {} FAILURES\n", failures) : std::string("parity: all ok\n"));
  return failures ? 1 : 0;
}

}  // namespace ldmg::cli
