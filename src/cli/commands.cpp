// The one list of ldmground's subcommands.
#include "cli/command.h"

namespace ldmg::cli {

int run_inspect(int argc, char** argv);

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"inspect", "list the tensors of a weights file (.safetensors, .pth, .bin)", run_inspect},
  };
  return list;
}

}  // namespace ldmg::cli
