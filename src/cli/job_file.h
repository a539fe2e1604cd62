#pragma once
// Job files: any long option of a command, one "key = value" per line in
// Boost.Program_options' config format (repeat a key for a list; '#'
// comments; [section] headers are not used). Options given on the command
// line win over the job file's, key by key.
#include <boost/program_options.hpp>

#include <set>
#include <string>

namespace ldmg::cli {

namespace po = boost::program_options;

// Parses argv, then the job file named by `--<job_option>` (if given), into
// `vm`, and runs notify(). Returns false after printing help for --help.
// Throws ldmg::Error naming the file and the key for an unknown key or a bad
// value, and naming the option for command-line errors.
bool parse_options_with_job(int argc, char** argv, const std::string& usage, const po::options_description& desc,
                            po::variables_map& vm, const std::string& job_option = "job");

// The resolved options as a job file (every option that has a value, sorted
// by key, except those in `exclude`), readable by parse_options_with_job.
std::string job_file_text(const po::variables_map& vm, const std::set<std::string>& exclude, const std::string& header);

}  // namespace ldmg::cli
