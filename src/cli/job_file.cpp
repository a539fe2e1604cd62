#include "cli/job_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/check.h"

namespace ldmg::cli {

bool parse_options_with_job(int argc, char** argv, const std::string& usage, const po::options_description& desc,
                            po::variables_map& vm, const std::string& job_option) {
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
  } catch (const po::error& e) {
    LDMG_FAIL("{}: {} (see 'ldmground {} --help')", argv[0], e.what(), argv[0]);
  }
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << desc << "\n";
    return false;
  }
  if (vm.count(job_option) && !vm[job_option].defaulted()) {
    const std::string path = vm[job_option].as<std::string>();
    std::ifstream in(path);
    LDMG_CHECK(in.good() && std::filesystem::is_regular_file(path), "job file '{}' cannot be read", path);
    po::variables_map from_file;
    try {
      po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), from_file);
    } catch (const po::error& e) {
      LDMG_FAIL("job file '{}': {} (keys are the long option names of 'ldmground {} --help')", path, e.what(), argv[0]);
    }
    LDMG_CHECK(!from_file.count(job_option) || from_file[job_option].defaulted(), "job file '{}': '{}' cannot name "
               "another job file", path, job_option);
    for (const auto& [key, value] : from_file) {
      if (value.defaulted()) continue;
      const auto it = vm.find(key);
      if (it != vm.end() && !it->second.defaulted()) continue;  // the command line wins
      if (it != vm.end()) vm.erase(it);
      vm.insert({key, value});
    }
  }
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    LDMG_FAIL("{}: {} (see 'ldmground {} --help')", argv[0], e.what(), argv[0]);
  }
  return true;
}

std::string job_file_text(const po::variables_map& vm, const std::set<std::string>& exclude, const std::string& header) {
  std::string out = header;
  for (const auto& [key, v] : vm) {  // std::map: sorted by key
    if (exclude.count(key) || v.empty()) continue;
    const auto& any = v.value();
    auto line = [&](const auto& x) { out += fmt::format("{} = {}\n", key, x); };
    if (any.type() == typeid(std::string)) line(v.as<std::string>());
    else if (any.type() == typeid(int)) line(v.as<int>());
    else if (any.type() == typeid(std::uint64_t)) line(v.as<std::uint64_t>());
    else if (any.type() == typeid(double)) line(v.as<double>());
    else if (any.type() == typeid(bool)) line(v.as<bool>() ? "true" : "false");
    else if (any.type() == typeid(std::vector<std::string>))
      for (const auto& s : v.as<std::vector<std::string>>()) line(s);
    else if (any.type() == typeid(std::vector<int>))
      for (int i : v.as<std::vector<int>>()) line(i);
    else LDMG_FAIL("job file: option '{}' has a type the writer does not know", key);
  }
  return out;
}

}  // namespace ldmg::cli
