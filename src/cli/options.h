#pragma once
// Shared Boost.Program_options helpers: every subcommand parses its options
// the same way and answers --help with its description and defaults.
#include <boost/program_options.hpp>

#include <string>

namespace ldmg::cli {

namespace po = boost::program_options;

// Options every subcommand takes (--help, --threads, --log-level).
void add_common_options(po::options_description& desc);

// Parses argv; returns false (after printing help) when --help was given.
// Throws ldmg::Error on unknown or malformed options, naming the option.
bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& desc,
                   po::variables_map& vm, const po::positional_options_description* positional = nullptr);

// Applies --threads (LibTorch intra-op threads; 0 = all cores of this
// process's share) and --log-level.
void apply_common_options(const po::variables_map& vm);

}  // namespace ldmg::cli

namespace ldmg::runner {
class MpiEnv;
}

namespace ldmg::cli {

// apply_common_options() for one rank of an MPI command (sweep, analyze,
// search): log lines carry the rank's label when there are several, only
// rank 0 logs below warn on stderr, and --threads 0 means this rank's share
// of the node's cores.
void apply_rank_options(const runner::MpiEnv& env, const po::variables_map& vm);

}  // namespace ldmg::cli
