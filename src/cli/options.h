#pragma once
// Shared Boost.Program_options helpers: every subcommand parses its options
// the same way and answers --help with its description and defaults.
#include <boost/program_options.hpp>

#include <memory>
#include <string>

#include "metrics/bootstrap.h"
#include "sweep/sum_reducer.h"

namespace ldmg::analysis {
class RunInputs;
}

namespace ldmg::cli {

namespace po = boost::program_options;

// Options every subcommand takes (--help, --threads, --log-level).
void add_common_options(po::options_description& desc);

// The pair selection and scoring protocol of the commands that score MS-CXR
// pairs (evaluate, score, sweep): --limit, --category, --box-rule,
// --bootstrap, --seed, declared once; bootstrap_from() reads the last two.
void add_pair_scoring_options(po::options_description& desc);
metrics::BootstrapOptions bootstrap_from(const po::variables_map& vm);

// Parses argv; returns false (after printing help) when --help was given.
// Throws ldmg::Error on unknown or malformed options, naming the option.
bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& desc,
                   po::variables_map& vm, const po::positional_options_description* positional = nullptr);

// Applies --threads (LibTorch intra-op threads; 0 = all cores of this
// process's share) and --log-level.
void apply_common_options(const po::variables_map& vm);

// apply_common_options() for one rank of an MPI command (sweep, analyze,
// search): log lines carry the rank's label when there are several, only
// rank 0 logs below warn on stderr, and --threads 0 means this rank's share
// of the node's cores.
void apply_rank_options(const sweep::MpiEnv& env, const po::variables_map& vm);

// The commands that read a finished sweep's run folder (analyze, search):
// the options they share (add_common_options(), --job, --run, --out,
// --reduce) declared and read in one place, the MPI rank they run on and the
// run folder, opened.
class RunFolderCommand {
 public:
  // `command`: its name ("analyze"); `job_help`, `out_help`: what --job and
  // --out mean for it.
  RunFolderCommand(const std::string& command, const std::string& job_help, const std::string& out_help);
  ~RunFolderCommand();

  // The command's own options go here, before parse().
  po::options_description& options() { return desc_; }

  // Parses argv and the --job file (parse_options_with_job). For --help
  // prints "usage: [mpirun -np N] ldmground <command> --run RUN --out OUT
  // <args>", `about` and the options, and returns false. Otherwise starts
  // MPI, applies this rank's options (apply_rank_options), reads --out and
  // --reduce and opens --run. Throws ldmg::Error on a bad option or folder.
  bool parse(int argc, char** argv, const std::string& args, const std::string& about);

  // After parse().
  const po::variables_map& vm() const { return vm_; }
  sweep::MpiEnv& env() { return *env_; }
  const analysis::RunInputs& run() const { return *run_; }  // --run
  const std::string& out() const { return out_; }           // --out
  sweep::ReduceBackend reduce() const { return reduce_; }   // --reduce: how the ranks' scores reach rank 0

 private:
  std::string command_;
  po::options_description desc_;
  po::variables_map vm_;
  std::unique_ptr<sweep::MpiEnv> env_;           // outlives run_ (declared first)
  std::unique_ptr<analysis::RunInputs> run_;
  std::string out_;
  sweep::ReduceBackend reduce_ = sweep::ReduceBackend::automatic;
};

}  // namespace ldmg::cli
