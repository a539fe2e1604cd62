#pragma once
// Python with numpy + h5py as an independent reader of our files:
// $LDMG_PYTHON, else the repository's .venv (made by scripts/bootstrap.sh).
#include <string>
#include <utility>

namespace ldmg::test {

std::string python();
bool python_has_numpy_h5py();
// Runs `python script args`; returns (exit status, stdout + stderr).
std::pair<int, std::string> run_python(const std::string& script_path, const std::string& args);

}  // namespace ldmg::test
