#include "support/python.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace ldmg::test {

std::string python() {
  if (const char* env = std::getenv("LDMG_PYTHON")) return env;
  return (fs::path(LDMG_SOURCE_DIR) / ".venv" / "bin" / "python").string();
}

bool python_has_numpy_h5py() {
  if (!fs::exists(python())) return false;
  const std::string cmd = "'" + python() + "' -c 'import numpy, h5py' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::pair<int, std::string> run_python(const std::string& script_path, const std::string& args) {
  const std::string cmd = "'" + python() + "' '" + script_path + "' " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace ldmg::test
