#pragma once
// Starting another program and waiting for it: the demo's sweep under
// mpiexec, the bench's run of the authors' Python pipeline.
#include <string>
#include <vector>

namespace ldmg {

// Runs args[0] (searched on PATH when it has no '/') with args[1..] in this
// process's environment, waits, returns its exit status. Throws ldmg::Error
// when it cannot be started or is killed by a signal.
int run_child(const std::vector<std::string>& args);

// The first executable `name` on PATH; empty if none.
std::string find_on_path(const std::string& name);

// This program's absolute path (/proc/self/exe).
std::string self_exe();

}  // namespace ldmg
