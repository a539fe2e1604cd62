// The one list of ldmground's subcommands.
#include "cli/command.h"

namespace ldmg::cli {

int run_inspect(int argc, char** argv);
int run_evaluate(int argc, char** argv);
int run_ground(int argc, char** argv);
int run_parity(int argc, char** argv);

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"ground", "ground report sentence(s) in one X-ray: heatmaps, overlay PNG, metrics with --box", run_ground},
      {"evaluate", "ground every MS-CXR pair and score it (pairs.csv, Table I summary)", run_evaluate},
      {"parity", "check the pipeline against the authors' goldens on the parity fixtures", run_parity},
      {"inspect", "list the tensors of a weights file (.safetensors, .pth, .bin)", run_inspect},
  };
  return list;
}

}  // namespace ldmg::cli
