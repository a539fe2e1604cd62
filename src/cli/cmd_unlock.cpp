// `ldmground unlock --run DIR --host-lost HOST`: breaks the run lock left by a
// sweep on a lost host (sweep/run_lock.h), so the sweep can resume elsewhere.
// No MPI: it runs on the host that will resume.
#include <fmt/format.h>

#include <iostream>

#include "cli/options.h"
#include "sweep/run_lock.h"

namespace ldmg::cli {

int run_unlock(int argc, char** argv) {
  po::options_description desc("unlock options");
  desc.add_options()("help,h", "show this help and exit")(
      "run", po::value<std::string>()->required(), "a sweep's run folder")(
      "host-lost", po::value<std::string>()->required(),
      "the host the lock file names, which you declare lost: crashed, hung or cut off, with no process of its "
      "sweep left on any host");
  po::positional_options_description pos;
  pos.add("run", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground unlock [--run] DIR --host-lost HOST\n\nBreaks the run lock of a sweep whose "
                     "rank 0 ran on a host that is lost: the lock file is moved aside to .lock.broken-<time> and "
                     "the same sweep command, run again on the hosts left, resumes. Refused when the lock is held "
                     "on this host or by another host than HOST. Breaking the lock of a sweep that is in fact "
                     "alive lets two sweeps write one run folder.",
                     desc, vm, &pos))
    return 0;
  const std::string run = vm["run"].as<std::string>();
  const sweep::LockBreak b = sweep::break_run_lock(run, vm["host-lost"].as<std::string>());
  if (!b.was_held) {
    std::cout << fmt::format("{} is not locked (its last sweep ended or died on a host the kernel could see): "
                             "nothing to do, run the sweep\n", run);
    return 0;
  }
  std::cout << fmt::format("broke the lock of {} held by pid {} on host {} since {}; the old lock file is {}. Run the "
                           "same sweep command again to resume.\n",
                           run, b.holder.pid, b.holder.host, b.holder.since, b.moved_to.string());
  return 0;
}

}  // namespace ldmg::cli
