#include "core/child_process.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/check.h"

extern char** environ;

namespace ldmg {

namespace fs = std::filesystem;

int run_child(const std::vector<std::string>& args) {
  LDMG_ASSERT(!args.empty(), "run_child: no program");
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  LDMG_CHECK(rc == 0, "cannot start '{}': {}", args[0], std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) LDMG_CHECK(errno == EINTR, "waitpid: {}", std::strerror(errno));
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  LDMG_FAIL("'{}' was killed by signal {}", args[0], WTERMSIG(status));
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return {};
  std::string p = path;
  for (std::size_t b = 0; b <= p.size();) {
    const std::size_t e = std::min(p.find(':', b), p.size());
    const fs::path candidate = fs::path(p.substr(b, e - b)) / name;
    if (e > b && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    b = e + 1;
  }
  return {};
}

std::string self_exe() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  LDMG_CHECK(!ec, "cannot find this program's path (/proc/self/exe): {}", ec.message());
  return p.string();
}

}  // namespace ldmg
