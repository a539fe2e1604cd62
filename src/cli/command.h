#pragma once
// A subcommand of the single `ldmground` binary. Each lives in its own file
// under src/cli/ and is listed once in commands.cpp.
#include <string>
#include <vector>

namespace ldmg::cli {

struct Command {
  const char* name;
  const char* summary;
  // argv[0] is the subcommand name; returns the process exit status.
  int (*run)(int argc, char** argv);
};

const std::vector<Command>& commands();

}  // namespace ldmg::cli
