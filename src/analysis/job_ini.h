#pragma once
// A job file read back without the CLI's option registry: "key = value"
// lines (Boost.Program_options' config format, as job_file_text writes
// <run>/job.ini), '#' comments, a key may repeat (a list). `analyze` and
// `search` read the sweep's resolved job this way, and `search` writes
// best.ini in the same format.
#include <map>
#include <string>
#include <vector>

namespace ldmg::analysis {

// `s` without leading and trailing spaces, tabs and carriage returns.
std::string trim(const std::string& s);

class JobIni {
 public:
  // Throws ldmg::Error naming `what` and the line for a line without '='.
  static JobIni parse(const std::string& text, const std::string& what);
  static JobIni read(const std::string& path);

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  // The last value of `key`; throws naming the file and the key when absent.
  const std::string& get(const std::string& key) const;
  std::string get_or(const std::string& key, const std::string& fallback) const;
  // Every value of `key` in file order (empty when absent).
  std::vector<std::string> all(const std::string& key) const;
  // A path of the sweep's job as the sweep saw it: relative to where it was
  // started, which a later command may not share, else to the run folder's
  // parent. path() throws naming the file, key and both places when neither
  // exists; path_or_as_written() gives "" for an absent key and the value as
  // written when neither exists (the caller reports what it cannot read).
  std::string path(const std::string& key, const std::string& run_dir) const;
  std::string path_or_as_written(const std::string& key, const std::string& run_dir) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace ldmg::analysis
