#include "sweep/sweep.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>

#include "cache/attention_cache_unit.h"
#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/provenance.h"
#include "core/sha256.h"
#include "core/version.h"
#include "io/file_bytes.h"
#include "sweep/dataset_codec.h"
#include "sweep/ledger.h"
#include "sweep/model_unit_engine.h"
#include "sweep/mpi_env.h"
#include "sweep/run_lock.h"
#include "sweep/shared_counter.h"
#include "sweep/signals.h"
#include "sweep/sweep_plan.h"
#include "sweep/sweep_report.h"
#include "sweep/unit_result.h"
#include "sweep/work_queue.h"

namespace ldmg::sweep {

CacheMode parse_cache_mode(const std::string& s) {
  if (s == "full") return CacheMode::full;
  if (s == "window") return CacheMode::window;
  if (s == "none") return CacheMode::none;
  LDMG_FAIL("--cache: expected full, window or none, got '{}'", s);
}

const char* to_string(CacheMode m) {
  switch (m) {
    case CacheMode::full: return "full";
    case CacheMode::window: return "window";
    case CacheMode::none: return "none";
  }
  return "?";
}

namespace fs = std::filesystem;

namespace {

// The pair indices to run: category filter, then --limit, dataset order.
std::vector<int> select_pairs(const data::MsCxrDataset& ds, const SweepOptions& o) {
  if (!o.category.empty())
    LDMG_CHECK(std::find(ds.categories().begin(), ds.categories().end(), o.category) != ds.categories().end(),
               "--category '{}' does not occur in '{}'", o.category, o.dataset_csv);
  std::vector<int> out;
  for (const auto& p : ds.pairs()) {
    if (!o.category.empty() && p.category != o.category) continue;
    if (o.limit >= 0 && static_cast<int>(out.size()) >= o.limit) break;
    out.push_back(p.index);
  }
  LDMG_CHECK(!out.empty(), "no pairs selected from '{}' (check --category / --limit)", o.dataset_csv);
  return out;
}

// Whether a unit the ledger calls done still has everything it left: its
// rows and, when cached and anything was grounded, its committed cache file
// (checked by its root attributes: cache::check_committed_unit).
std::string check_done_unit(const std::string& run_dir, const SweepUnit& u, bool cached) {
  UnitResult res;
  try {
    res = read_unit_result(run_dir, u.id);
  } catch (const Error& e) {
    return e.what();
  }
  if (!cached) return {};
  bool grounded = false;
  for (const auto& per_cfg : res.rows) grounded |= !per_cfg.front().skipped && per_cfg.front().error.empty();
  if (!grounded) return {};
  try {
    cache::check_committed_unit(cache::cache_unit_path(run_dir + "/cache", u.id), u.id);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

struct RankState {
  LedgerWriter ledger;
  SharedCounter done;     // units finished (ok or failed), all ranks
  SharedCounter stopped;  // > 0: a rank stopped (signal or --fail-fast); take no more units
  RankState(const std::string& run_dir, const MpiEnv& env) : ledger(run_dir, env.rank()), done(env.comm()), stopped(env.comm()) {}
};

class UnitRunner {
 public:
  UnitRunner(const MpiEnv& env, UnitEngine& engine, const SweepOptions& o, const data::MsCxrDataset& ds)
      : env_(env), engine_(engine), o_(o), ds_(ds) {}

  // Runs units of one T together (the engine may invert them in one batch)
  // and records each as soon as its outcome is known: its cache file, its
  // rows, then its ledger line; recorded(ok) follows each record. tick(note):
  // progress inside the batch (the note says which step), so a long unit
  // (T=300 on a CPU: minutes) does not look stuck. A stop request abandons
  // the units not yet recorded (throws Interrupted; their writers remove
  // their .tmp files).
  void run_batch(const std::vector<const SweepUnit*>& units, RankState& state,
                 const std::function<void(const std::string&)>& tick, const std::function<void(bool ok)>& recorded) {
    LDMG_ASSERT(!units.empty(), "an empty batch of units");
    const auto t0 = std::chrono::steady_clock::now();
    const int T = units.front()->T;
    std::string ids;
    for (const auto* u : units) {
      LDMG_ASSERT(u->T == T, "a batch mixes T={} and T={}", T, u->T);
      ids += (ids.empty() ? "" : ", ") + u->id;
    }
    const std::size_t n = units.size();
    std::vector<std::unique_ptr<cache::AttentionCacheWriter>> writers(n);
    std::vector<UnitTask> tasks(n);
    const std::string batch_note = n > 1 ? fmt::format(", {} units", n) : "";
    for (std::size_t k = 0; k < n; ++k) {
      const SweepUnit& u = *units[k];
      tasks[k].unit = &u;
      for (int i : u.pairs) tasks[k].pairs.push_back(&ds_[static_cast<std::size_t>(i)]);
      tasks[k].open_cache = [&, k](cache::CacheUnitSpec spec) -> diffusion::AttentionSink* {
        writers[k].reset();  // a second call (the batch failed): the first writer's partial file goes first
        if (o_.cache == CacheMode::none) return nullptr;
        spec.unit_id = units[k]->id;
        spec.T = units[k]->T;
        spec.config_json = o_.job.dump();
        writers[k] = std::make_unique<cache::AttentionCacheWriter>(o_.run_dir + "/cache", spec, o_.cache_options);
        return writers[k].get();
      };
      tasks[k].progress = [&](int done, int total) {
        if (stop_requested())
          throw Interrupted(
              fmt::format("unit{} {} abandoned on {}", n > 1 ? "s" : "", ids, signal_name(stop_signal())));
        tick(fmt::format("rank {}: T={} step {}/{}{}", env_.rank(), T, done, total, batch_note));
      };
    }
    engine_.run_units(o_, tasks, [&](std::size_t k, pipeline::ImageOutcome&& outcome) {
      // A batched unit's seconds: its share of the batch's time so far.
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(n);
      recorded(record(*units[k], tasks[k].pairs, std::move(outcome), writers[k], seconds, n, state));
    });
  }

 private:
  // Commits the unit's cache file, then writes its rows, then its ledger
  // line (a unit the ledger calls done has its rows). Returns whether it is ok.
  bool record(const SweepUnit& u, const std::vector<const data::Pair*>& pairs, pipeline::ImageOutcome&& outcome,
              std::unique_ptr<cache::AttentionCacheWriter>& writer, double seconds, std::size_t batch,
              RankState& state) {
    std::string error = std::move(outcome.error);
    if (error.empty() && writer) {
      try {
        writer->commit();
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    writer.reset();  // failed: removes its .tmp
    UnitResult res;
    res.unit_id = u.id;
    res.T = u.T;
    for (const auto& c : o_.grounding.configs) res.configs.push_back(c.name());
    LedgerRecord rec;
    rec.unit_id = u.id;
    rec.rank = env_.rank();
    if (error.empty()) {
      res.rows = std::move(outcome.scored.rows);
      res.unet_calls = outcome.scored.unet_calls;
      rec.status = UnitStatus::ok;
    } else {
      log::error("unit {} (T={}, '{}') failed: {}", u.id, u.T, u.path, error);
      for (const auto* p : pairs) {
        pipeline::PairRow r = pipeline::base_row(*p);
        r.error = error;
        res.rows.emplace_back(o_.grounding.configs.size(), r);
      }
      rec.status = UnitStatus::failed;
      rec.error = error;
    }
    res.seconds = seconds;
    rec.seconds = res.seconds;
    write_unit_result(o_.run_dir, res);
    state.ledger.append(rec);
    log::info("unit {} T={} '{}' ({} pair(s)): {} in {:.1f} s{}, {} U-Net calls", u.id, u.T, u.path, u.pairs.size(),
              to_string(rec.status), res.seconds, batch > 1 ? fmt::format(" (its share of a batch of {})", batch) : "",
              res.unet_calls);
    return rec.status == UnitStatus::ok;
  }

  const MpiEnv& env_;
  UnitEngine& engine_;
  const SweepOptions& o_;
  const data::MsCxrDataset& ds_;
};

// Rank 0's view at the start: the plan, and which units to run or to check.
struct StartState {
  SweepPlan plan;
  std::vector<std::string> digests;  // of the plan's images (image_digests)
  std::vector<int> todo;      // unit positions in the plan: never recorded, or failed with --retry-failed
  std::vector<int> recorded;  // recorded ok: to check that their outputs are still there (check_recorded_units)
  std::size_t failed_before = 0;  // recorded failed, not retried
};

StartState prepare_run(UnitEngine& engine, const SweepOptions& o, const data::MsCxrDataset& ds) {
  engine.check_grid(o);
  StartState st;
  const std::vector<int> selected = select_pairs(ds, o);
  st.digests = image_digests(ds, selected);
  st.plan = make_sweep_plan(ds, selected, o.Ts, engine.settings(o), st.digests);
  fs::create_directories(o.run_dir + "/cache");
  fs::create_directories(o.run_dir + "/logs");
  // Leftovers of killed writers: never part of a result.
  for (const auto& e : fs::directory_iterator(o.run_dir + "/cache"))
    if (e.path().extension() == ".tmp") {
      log::warn("removing '{}', left by an interrupted unit", e.path().string());
      fs::remove(e.path());
    }
  const LedgerState ledger = read_ledgers(o.run_dir);
  for (std::size_t i = 0; i < st.plan.units.size(); ++i) {
    const auto status = ledger.status(st.plan.units[i].id);
    if (status == UnitStatus::ok) {
      st.recorded.push_back(static_cast<int>(i));
    } else if (status == UnitStatus::failed && !o.retry_failed) {
      ++st.failed_before;
    } else {
      st.todo.push_back(static_cast<int>(i));
    }
  }
  io::write_file_atomic(plan_path(o.run_dir), plan_json_text(st.plan));
  io::write_file_atomic(o.run_dir + "/job.ini", o.job_ini);
  return st;
}

// Every rank's `mine`, concatenated in rank order, on every rank (collective).
std::vector<int> allgather_ints(const MpiEnv& env, const std::vector<int>& mine) {
  if (env.size() == 1 || !mpi_active()) return mine;
  const int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(env.size())), displs(counts.size());
  LDMG_MPI(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, env.comm()));
  int total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = total;
    total += counts[r];
  }
  std::vector<int> all(static_cast<std::size_t>(total));
  LDMG_MPI(MPI_Allgatherv(mine.data(), n, MPI_INT, all.data(), counts.data(), displs.data(), MPI_INT, env.comm()));
  return all;
}

// The units recorded ok whose outputs are no longer usable (collective). Each
// rank checks every size-th of them (opening a unit's rows and cache file is
// the start-up's cost per done unit, so a resume of a large run is not
// serialised on rank 0), and all learn the union, in plan order.
std::vector<int> check_recorded_units(const MpiEnv& env, const SweepOptions& o, const SweepPlan& plan,
                                      const std::vector<int>& recorded) {
  std::vector<int> unusable;
  for (std::size_t k = static_cast<std::size_t>(env.rank()); k < recorded.size(); k += static_cast<std::size_t>(env.size())) {
    const SweepUnit& u = plan.units.at(static_cast<std::size_t>(recorded[k]));
    std::string problem;
    try {
      problem = check_done_unit(o.run_dir, u, o.cache != CacheMode::none);
    } catch (const std::exception& e) {  // never leave the collective below on one rank only
      problem = e.what();
    }
    if (problem.empty()) continue;
    log::warn("unit {} is recorded as done but its outputs are not usable ({}): running it again", u.id, problem);
    unusable.push_back(recorded[k]);
  }
  std::vector<int> all = allgather_ints(env, unusable);
  std::sort(all.begin(), all.end());
  return all;
}

// One digest of every unit id in plan order: ranks compare their plans by it.
std::string plan_ids_digest(const SweepPlan& plan) {
  Sha256 h;
  for (const auto& u : plan.units) h.update(u.id + "\n");
  return h.hex_digest();
}

void append_run_record(const std::string& run_dir, const nlohmann::json& j) {
  const std::string path = run_dir + "/runs.jsonl";
  std::string prev;
  if (fs::exists(path)) prev = io::read_file_bytes(path);
  io::write_file_atomic(path, prev + j.dump() + "\n");
}

}  // namespace

SweepOutcome run_sweep(const MpiEnv& env, pipeline::ModelBundle& models, const SweepOptions& o) {
  ModelUnitEngine engine(models);
  return run_sweep(env, engine, o);
}

SweepOutcome run_sweep(const MpiEnv& env, UnitEngine& engine, const SweepOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  install_stop_handlers();
  const auto lock = lock_run_folder(env, o.run_dir);
  const bool root = env.rank() == 0;
  fs::create_directories(o.run_dir + "/logs");
  log::set_file(fmt::format("{}/logs/rank{}.log", o.run_dir, env.rank()));
  log::info("rank {} of {} on {} (local rank {}): {}", env.rank(), env.size(), env.node_name(), env.local_rank(),
            engine.describe());

  // Rank 0 reads the dataset, the images' digests and the ledgers and
  // broadcasts them with the settings; every rank then makes the same plan
  // (a 10^5-unit plan is tens of MB as JSON and a multiple of that parsed,
  // on every rank; its digests are a few MB). Everyone gets the same answer or error.
  data::MsCxrOptions dopt;
  dopt.images_root = o.images_root;
  std::optional<data::MsCxrDataset> ds;
  SweepPlan plan;
  nlohmann::json start;
  if (root) {
    try {
      ds.emplace(data::read_ms_cxr(o.dataset_csv, dopt));
      StartState st = prepare_run(engine, o, *ds);
      start = {{"settings", settings_to_json(st.plan.settings)},
               {"pairs", st.plan.pairs},
               {"digests", st.digests},
               {"units", st.plan.units.size()},
               {"ids_digest", plan_ids_digest(st.plan)},
               {"todo", st.todo},
               {"recorded", st.recorded},
               {"failed_before", st.failed_before}};
      plan = std::move(st.plan);
    } catch (const Error& e) {
      start = {{"error", e.what()}};
    }
  }
  start = nlohmann::json::parse(env.broadcast(root ? start.dump() : std::string()));
  if (start.contains("error")) throw Error(start["error"].get<std::string>());
  const std::string dataset_bytes = env.size() > 1 ? env.broadcast(root ? encode_dataset(*ds) : std::string()) : "";
  std::string plan_error;
  if (!root) {
    try {
      ds.emplace(decode_dataset(dataset_bytes));
      plan = make_sweep_plan(*ds, start.at("pairs").get<std::vector<int>>(), o.Ts, settings_from_json(start.at("settings")),
                             start.at("digests").get<std::vector<std::string>>());
      LDMG_CHECK(plan.units.size() == start.at("units").get<std::size_t>() &&
                     plan_ids_digest(plan) == start.at("ids_digest").get<std::string>(),
                 "rank {} planned other units than rank 0 from the same dataset", env.rank());
    } catch (const std::exception& e) {
      plan_error = e.what();
      log::error("{}", plan_error);
    }
  }
  if (!env.all_true(plan_error.empty()))
    throw Error(plan_error.empty() ? std::string("another rank could not make the sweep plan (see its log)") : plan_error);
  const auto recorded = start["recorded"].get<std::vector<int>>();
  // The units recorded ok whose rows or cache went missing run again, in plan order.
  const std::vector<int> unusable = check_recorded_units(env, o, plan, recorded);
  std::vector<int> todo = start["todo"].get<std::vector<int>>();
  const std::size_t to_run_before = todo.size();
  todo.insert(todo.end(), unusable.begin(), unusable.end());
  std::inplace_merge(todo.begin(), todo.begin() + static_cast<std::ptrdiff_t>(to_run_before), todo.end());
  const std::size_t done_before = start["failed_before"].get<std::size_t>() + recorded.size() - unusable.size();
  start = nlohmann::json();

  SweepOutcome out;
  out.units_total = plan.units.size();
  out.units_done_before = done_before;
  if (root) {
    log::info("sweep: {} units ({} pair(s) x {} T), {} done before, {} to run on {} rank(s); run folder {}",
              plan.units.size(), plan.pairs.size(), plan.Ts.size(), out.units_done_before, todo.size(), env.size(),
              o.run_dir);
    append_run_record(o.run_dir, {{"started_at", utc_now_iso8601()}, {"ranks", env.size()}, {"host", env.node_name()},
                                  {"version", version_string()}, {"units_to_run", todo.size()}});
  }

  RankState state(o.run_dir, env);
  WorkQueue queue(env.comm(), static_cast<std::int64_t>(todo.size()));
  UnitRunner runner(env, engine, o, *ds);
  const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  out.startup_seconds = seconds_since(t0);
  const auto t_units = std::chrono::steady_clock::now();
  std::unique_ptr<Progress> progress;
  if (root) progress = std::make_unique<Progress>("sweep units", static_cast<long>(todo.size()));
  auto tick = [&](const std::string& note) {
    if (progress) progress->update(static_cast<long>(state.done.load()), note);
  };
  bool interrupted = false, failed_fast = false;
  std::string fatal;  // this rank cannot go on (e.g. cannot record a unit): stop everyone, report after the collectives
  try {
    const auto recorded = [&](bool ok) {
      ++out.units_run;
      state.done.fetch_add(1);
      tick({});
      if (!ok && o.fail_fast) failed_fast = true;
    };
    while (!stop_requested() && state.stopped.load() == 0 && !failed_fast) {
      // Up to --batch-images consecutive units of the plan (T-major): those
      // of one T run together; a range across two T values runs as two batches.
      // Ranges shrink towards the end of the queue (guided), so ranks finish together.
      const WorkQueue::Range range = queue.next_range(queue.guided_range(std::max(1, o.batch_images), env.size()));
      if (range.count == 0) break;
      std::vector<const SweepUnit*> taken;
      for (std::int64_t k = range.first; k < range.first + range.count; ++k)
        taken.push_back(&plan.units[static_cast<std::size_t>(todo[static_cast<std::size_t>(k)])]);
      for (std::size_t b = 0; b < taken.size();) {
        // Units taken but not run (a stop request in between) are simply not recorded: a resume runs them.
        if (b > 0 && (stop_requested() || failed_fast)) break;
        std::size_t e = b + 1;
        while (e < taken.size() && taken[e]->T == taken[b]->T) ++e;
        const std::vector<const SweepUnit*> same_T(taken.begin() + static_cast<std::ptrdiff_t>(b),
                                                   taken.begin() + static_cast<std::ptrdiff_t>(e));
        runner.run_batch(same_T, state, tick, recorded);
        b = e;
      }
    }
    if (failed_fast) state.stopped.fetch_add(1);
  } catch (const Interrupted& e) {
    log::warn("{}", e.what());
  } catch (const std::exception& e) {
    fatal = e.what();
    log::error("rank {} stops: {}", env.rank(), fatal);
    state.stopped.fetch_add(1);
  }
  interrupted = stop_requested() || state.stopped.load() > 0;
  if (interrupted && !failed_fast) state.stopped.fetch_add(1);
  const bool everyone_finished = env.all_true(!interrupted);
  if (progress) progress->finish();
  out.units_seconds = seconds_since(t_units);

  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!everyone_finished) {
    out.exit_code = kResumeExitCode;
    if (root) {
      log::warn("sweep stopped before every unit was done ({}); run the same command again to resume",
                stop_requested() ? signal_name(stop_signal()) : "a rank stopped");
      append_run_record(o.run_dir, {{"ended_at", utc_now_iso8601()}, {"outcome", "stopped"}});
    }
    // --fail-fast stops with a failure, not a "resume me".
    if (!env.all_true(!failed_fast)) out.exit_code = 1;
    if (!fatal.empty()) throw Error(fatal);
    return out;
  }

  // Every unit is recorded: rank 0 gathers the reports.
  std::string error;
  if (root) {
    try {
      const LedgerState ledger = read_ledgers(o.run_dir);
      nlohmann::json prov = {{"version", version_string()}, {"job", o.job}, {"files", engine.file_hashes()}};
      auto t = std::chrono::steady_clock::now();
      const auto g = write_sweep_results(o.run_dir, plan, *ds, ledger, o.grounding.configs, o.report, prov);
      out.results_seconds = seconds_since(t);
      t = std::chrono::steady_clock::now();
      if (o.cache != CacheMode::none) write_cache_index(o.run_dir, plan, ledger, &g);
      out.index_seconds = seconds_since(t);
      for (const auto& u : plan.units) out.units_failed += ledger.status(u.id) == UnitStatus::failed;
      for (const auto& d : g.dirs) log::info("wrote {}/pairs.csv, summary.json, summary.md", d);
      if (out.units_failed)
        log::error("{} unit(s) failed ({} pair(s)); the errors are in {}/ledger (pairs.csv marks their rows skipped=error); "
                   "--retry-failed runs them again", out.units_failed, g.failed_pairs, o.run_dir);
      append_run_record(o.run_dir, {{"ended_at", utc_now_iso8601()}, {"outcome", out.units_failed ? "failed" : "ok"},
                                    {"units_failed", out.units_failed}});
    } catch (const Error& e) {
      error = e.what();
    }
  }
  error = env.broadcast(error);
  if (!error.empty()) throw Error(error);
  out.units_failed = std::stoul(env.broadcast(std::to_string(out.units_failed)));
  out.exit_code = out.units_failed ? 1 : 0;
  return out;
}

}  // namespace ldmg::sweep
