#include "support/fixtures.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "core/check.h"

namespace fs = std::filesystem;

namespace ldmg::test {

void expect_error_mentions(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected ldmg::Error mentioning '" << (parts.empty() ? "" : parts.front()) << "'";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\n  lacks: " << p;
  }
}

std::string shared_dir() {
  if (const char* env = std::getenv("LDMG_SHARED_DIR"); env && fs::is_directory(env)) return env;
  if (fs::is_directory(LDMG_SHARED_DIR_DEFAULT)) return fs::canonical(LDMG_SHARED_DIR_DEFAULT).string();
  return {};
}

std::string parity_dir() {
  const std::string s = shared_dir();
  if (s.empty()) return {};
  const fs::path p = fs::path(s) / "fixtures" / "parity";
  return fs::is_directory(p) ? p.string() : std::string{};
}

namespace {
std::vector<std::string>& temp_dirs() {
  static auto* dirs = new std::vector<std::string>;  // never destroyed: used from atexit
  return *dirs;
}
void remove_temp_dirs() {
  if (std::getenv("LDMG_KEEP_TEST_FILES")) return;
  for (const auto& d : temp_dirs()) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(remove_temp_dirs); });
  std::string pattern = (fs::temp_directory_path() / ("ldmg_" + tag + "_XXXXXX")).string();
  char* made = mkdtemp(pattern.data());
  if (!made) throw std::runtime_error("mkdtemp failed for " + pattern);
  temp_dirs().push_back(made);
  return made;
}

}  // namespace ldmg::test
