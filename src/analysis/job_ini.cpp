#include "analysis/job_ini.h"

#include <filesystem>
#include <sstream>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::analysis {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

JobIni JobIni::parse(const std::string& text, const std::string& what) {
  JobIni j;
  j.source_ = what;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto hash = line.find('#');  // Boost's config format: '#' starts a comment anywhere
    const std::string t = trim(hash == std::string::npos ? line : line.substr(0, hash));
    if (t.empty()) continue;
    const auto eq = t.find('=');
    LDMG_CHECK(eq != std::string::npos, "{} line {}: expected 'key = value', got '{}'", what, n, t);
    j.values_[trim(t.substr(0, eq))].push_back(trim(t.substr(eq + 1)));
  }
  return j;
}

JobIni JobIni::read(const std::string& path) { return parse(io::read_file_bytes(path), path); }

const std::string& JobIni::get(const std::string& key) const {
  const auto it = values_.find(key);
  LDMG_CHECK(it != values_.end(), "{}: no '{}' key (expected a sweep's resolved job)", source_, key);
  return it->second.back();
}

std::string JobIni::get_or(const std::string& key, const std::string& fallback) const {
  return has(key) ? get(key) : fallback;
}

std::vector<std::string> JobIni::all(const std::string& key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

namespace {

// `p` where it exists: as written, else (relative) beside the run folder; "" if neither.
std::string existing_job_path(const std::string& p, const std::string& run_dir) {
  if (fs::exists(p)) return p;
  if (fs::path(p).is_absolute()) return "";
  const fs::path beside = fs::path(run_dir).parent_path() / p;
  return fs::exists(beside) ? beside.string() : "";
}

}  // namespace

std::string JobIni::path(const std::string& key, const std::string& run_dir) const {
  const std::string& p = get(key);
  const std::string found = existing_job_path(p, run_dir);
  LDMG_CHECK(!found.empty(), "{}: {} = '{}' does not exist{}", source_, key, p,
             fs::path(p).is_absolute()
                 ? std::string()
                 : " (relative to here nor to '" + fs::path(run_dir).parent_path().string() + "')");
  return found;
}

std::string JobIni::path_or_as_written(const std::string& key, const std::string& run_dir) const {
  const std::string p = get_or(key, "");
  if (p.empty()) return p;
  const std::string found = existing_job_path(p, run_dir);
  return found.empty() ? p : found;
}

}  // namespace ldmg::analysis
