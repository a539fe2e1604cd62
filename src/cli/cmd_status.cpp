// `ldmground status --run DIR`: where a sweep stands, from its run folder
// alone (plan.json, ledger/, runs.jsonl): no MPI, no model, no scheduler query.
#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/options.h"
#include "core/check.h"
#include "core/progress.h"
#include "io/file_bytes.h"
#include "sweep/ledger.h"
#include "sweep/plan_reader.h"
#include "sweep/sweep_plan.h"

namespace ldmg::cli {

namespace {

// "2026-11-28T14:00:00.123456Z" -> seconds since the epoch (0 if unparsable).
double parse_utc(const std::string& s) {
  std::tm tm{};
  double frac = 0;
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &n) != 6)
    return 0;
  if (s.size() > static_cast<std::size_t>(n) && s[n] == '.') frac = std::strtod(s.c_str() + n, nullptr);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + frac;
}

}  // namespace

int run_status(int argc, char** argv) {
  po::options_description desc("status options");
  desc.add_options()("help,h", "show this help and exit")(
      "run", po::value<std::string>()->required(), "a sweep's run folder")(
      "json", po::bool_switch(), "print the figures as one JSON object");
  po::positional_options_description pos;
  pos.add("run", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, "usage: ldmground status [--run] DIR [--json]\n\nUnits done / failed / pending of a sweep, "
                     "per rank, with the rate and ETA of the latest run, read from the run folder only.",
                     desc, vm, &pos))
    return 0;
  const std::string run = vm["run"].as<std::string>();
  const std::string plan_file = sweep::plan_path(run);
  LDMG_CHECK(std::filesystem::exists(plan_file), "'{}' is not a sweep run folder: {} is missing (a sweep writes it "
             "when it starts)", run, plan_file);
  const sweep::SweepPlan plan = sweep::read_plan_file(plan_file);
  const sweep::LedgerState ledger = sweep::read_ledgers(run);

  std::size_t ok = 0, failed = 0;
  struct PerRank { std::size_t ok = 0, failed = 0; double seconds = 0; };
  std::map<int, PerRank> ranks;
  double latest_start = 0, last_record = 0;
  const std::string runs_file = run + "/runs.jsonl";
  nlohmann::json last_run;
  if (std::filesystem::exists(runs_file)) {
    const std::string text = io::read_file_bytes(runs_file);
    std::size_t b = 0;
    while (b < text.size()) {
      const std::size_t e = text.find('\n', b);
      const std::string line = text.substr(b, e == std::string::npos ? std::string::npos : e - b);
      b = e == std::string::npos ? text.size() : e + 1;
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("started_at")) {
        latest_start = parse_utc(j["started_at"].get<std::string>());
        last_run = j;
      } else if (j.is_object() && j.contains("outcome")) {
        last_run["outcome"] = j["outcome"];
      }
    }
  }
  std::size_t since_start = 0;
  for (const auto& u : plan.units) {
    const auto it = ledger.latest.find(u.id);
    if (it == ledger.latest.end()) continue;
    const sweep::LedgerRecord& r = it->second;
    (r.status == sweep::UnitStatus::ok ? ok : failed) += 1;
    PerRank& pr = ranks[r.rank];
    (r.status == sweep::UnitStatus::ok ? pr.ok : pr.failed) += 1;
    pr.seconds += r.seconds;
    const double t = parse_utc(r.time);
    if (t >= latest_start) {
      ++since_start;
      last_record = std::max(last_record, t);
    }
  }
  const std::size_t total = plan.units.size(), pending = total - ok - failed;
  const double span = last_record - latest_start;
  const double rate = since_start > 0 && span > 0 ? since_start / span : 0;  // units per second
  if (vm["json"].as<bool>()) {
    nlohmann::json j = {{"units", total}, {"done", ok}, {"failed", failed}, {"pending", pending},
                        {"rate_units_per_hour", rate * 3600}, {"eta_seconds", rate > 0 ? pending / rate : -1},
                        {"last_run", last_run}};
    for (const auto& [rank, pr] : ranks)
      j["ranks"][std::to_string(rank)] = {{"done", pr.ok}, {"failed", pr.failed}, {"seconds", pr.seconds}};
    std::cout << j.dump(1) << "\n";
    return 0;
  }
  std::cout << fmt::format("run folder {}\n", run);
  std::cout << fmt::format("units: {} total ({} pairs x {} T): {} done, {} failed, {} pending\n", total,
                           plan.pairs.size(), plan.Ts.size(), ok, failed, pending);
  for (const auto& [rank, pr] : ranks)
    std::cout << fmt::format("  rank {:>3}: {} done, {} failed, {:.1f} s per unit\n", rank, pr.ok, pr.failed,
                             pr.seconds / std::max<std::size_t>(1, pr.ok + pr.failed));
  if (!last_run.is_null())
    std::cout << fmt::format("latest run: started {} on {} rank(s){}\n", last_run.value("started_at", "?"),
                             last_run.value("ranks", 0),
                             last_run.contains("outcome") ? ", " + last_run["outcome"].get<std::string>() : ", running or killed");
  if (rate > 0)
    std::cout << fmt::format("rate: {:.1f} units/hour since it started; ETA {} for the {} pending\n", rate * 3600,
                             Progress::format_duration(pending / rate), pending);
  if (failed) std::cout << "failed units are in the ledger (ledger/rank*.jsonl); rerun the sweep with --retry-failed\n";
  return 0;
}

}  // namespace ldmg::cli
