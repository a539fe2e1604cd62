#include "sweep/sweep.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "cache/attention_cache_reader.h"
#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/provenance.h"
#include "core/version.h"
#include "io/file_bytes.h"
#include "pipeline/image_scoring.h"
#include "pipeline/model_bundle.h"
#include "sweep/ledger.h"
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

SweepSettings sweep_settings(const pipeline::ModelBundle& models, const SweepOptions& o) {
  const pipeline::GroundingOptions& g = o.grounding;
  SweepSettings s;
  s.inversion = fmt::format("spacing={};stepper={};mode={};attention={};latent_scale={};precision={}",
                            g.spacing == diffusion::Spacing::TrailingUpstream ? "trailing" : "exact",
                            g.stepper == diffusion::Stepper::New ? "new" : "library",
                            g.mode == diffusion::InversionMode::faithful ? "faithful" : "fast", o.attention_kernel,
                            g.latent_scale, model::to_string(models.unet_precision));
  std::string configs;
  for (const auto& c : g.configs) configs += (configs.empty() ? "" : "|") + c.name();
  s.outputs = fmt::format("cache={};dtype={};configs={};box_rule={};class_name={}", to_string(o.cache),
                          to_string(o.cache_options.dtype), configs,
                          o.survival == data::SurvivalRule::faithful ? "faithful" : "geometric",
                          o.class_name_override);
  s.model_digest = models_digest(models);
  s.code_version = version_string();
  return s;
}

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
// rows and, when cached and anything was grounded, a readable cache file.
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
    cache::AttentionCacheReader reader(cache::cache_unit_path(run_dir + "/cache", u.id));
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// The steps a unit caches: all, the union of the configs' windows, or none.
std::pair<int, int> cache_window(const SweepOptions& o, CacheMode mode, int T, int n_steps) {
  if (mode == CacheMode::full) return {0, n_steps};
  int b = n_steps, e = 0;
  for (const auto& c : o.grounding.configs) {
    const auto [cb, ce] = c.window(T, n_steps);
    b = std::min(b, cb);
    e = std::max(e, ce);
  }
  return {b, e};
}

struct RankState {
  LedgerWriter ledger;
  SharedCounter done;     // units finished (ok or failed), all ranks
  SharedCounter stopped;  // > 0: a rank stopped (signal or --fail-fast); take no more units
  RankState(const std::string& run_dir, const MpiEnv& env) : ledger(run_dir, env.rank()), done(env.comm()), stopped(env.comm()) {}
};

class UnitRunner {
 public:
  UnitRunner(const MpiEnv& env, pipeline::ModelBundle& models, const SweepOptions& o, const data::MsCxrDataset& ds)
      : env_(env), models_(models), o_(o), ds_(ds) {}

  // Runs units of one T together (one batched inversion when there are
  // several, pipeline::score_images) and records each as soon as its outcome
  // is known: its cache file, its rows, then its ledger line; recorded(ok)
  // follows each record. tick(note): progress inside the batch (the note says
  // which step), so a long unit (T=300 on a CPU: minutes) does not look stuck.
  // A stop request abandons the units not yet recorded (throws Interrupted;
  // their writers remove their .tmp files).
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
    pipeline::ImageScoringOptions so;
    so.grounding = o_.grounding;
    so.grounding.T = T;
    so.survival = o_.survival;
    so.class_name_override = o_.class_name_override;
    const auto schedule = make_run_schedule(models_, so.grounding);
    const int n_steps = static_cast<int>(schedule.steps.size());
    const auto [cb, ce] = cache_window(o_, o_.cache, T, n_steps);
    for (int l = 0; l < models_.unet->num_attn2_layers(); ++l) so.extra_capture.layers.push_back(l);
    so.extra_capture.begin = cb;
    so.extra_capture.end = ce;

    const std::size_t n = units.size();
    using Grounded = std::vector<const data::Pair*>;
    std::vector<std::unique_ptr<cache::AttentionCacheWriter>> writers(n);
    std::vector<pipeline::ImageTask> tasks(n);
    const std::string batch_note = n > 1 ? fmt::format(", {} units", n) : "";
    for (std::size_t k = 0; k < n; ++k) {
      const SweepUnit& u = *units[k];
      for (int i : u.pairs) tasks[k].pairs.push_back(&ds_[static_cast<std::size_t>(i)]);
      tasks[k].sink_factory = [&, k, cb = cb, ce = ce](const data::GrayImage& img,
                                                       const Grounded& grounded) -> diffusion::AttentionSink* {
        writers[k].reset();  // a second call (the batch failed): the first writer's partial file goes first
        if (o_.cache == CacheMode::none) return nullptr;
        writers[k] = std::make_unique<cache::AttentionCacheWriter>(
            o_.run_dir + "/cache", cache_spec(*units[k], img, grounded, schedule, cb, ce), o_.cache_options);
        return writers[k].get();
      };
      tasks[k].progress = [&](int done, int total) {
        if (stop_requested())
          throw Interrupted(
              fmt::format("unit{} {} abandoned on {}", n > 1 ? "s" : "", ids, signal_name(stop_signal())));
        tick(fmt::format("rank {}: T={} step {}/{}{}", env_.rank(), T, done, total, batch_note));
      };
    }
    pipeline::score_images(models_, tasks, so, [&](std::size_t k, pipeline::ImageOutcome&& outcome) {
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

  cache::CacheUnitSpec cache_spec(const SweepUnit& u, const data::GrayImage& img, const std::vector<const data::Pair*>& grounded,
                           const diffusion::InversionSchedule& schedule, int cb, int ce) const {
    cache::CacheUnitSpec spec;
    spec.unit_id = u.id;
    spec.T = u.T;
    spec.config_json = o_.job.dump();
    spec.provenance_json = nlohmann::json{{"version", version_string()}, {"files", models_.file_hashes}}.dump();
    spec.model_digest = models_digest(models_);
    for (const auto* p : grounded) {
      cache::CachedPrompt cp;
      cp.text = p->prompt;
      cp.token_ids = models_.tokenizer.encode(p->prompt);
      for (auto id : cp.token_ids) cp.token_strings.push_back(models_.tokenizer.token_string(id));
      cp.category = p->category;
      for (const auto& b : p->boxes) cp.boxes.push_back({double(b.x), double(b.y), double(b.w), double(b.h)});
      cp.image_width = img.width;
      cp.image_height = img.height;
      cp.pair_index = p->index;
      cp.dicom_id = p->dicom_id;
      cp.image_path = p->path;
      spec.prompts.push_back(std::move(cp));
    }
    for (const auto& s : schedule.steps) spec.timesteps.push_back(s.timestep);
    for (int s = cb; s < ce; ++s) spec.cached_steps.push_back(s);
    const auto& ae = models_.autoencoder->config();
    const std::int64_t latent = 512 >> (ae.num_channels.size() - 1);
    for (const auto& l : models_.unet->attn2_layers(latent, latent)) spec.layers.push_back({l.index, l.name, l.h, l.w});
    return spec;
  }

  const MpiEnv& env_;
  pipeline::ModelBundle& models_;
  const SweepOptions& o_;
  const data::MsCxrDataset& ds_;
};

// Rank 0's view at the start: the plan and which units to run.
struct StartState {
  SweepPlan plan;
  std::vector<int> todo;  // unit positions in the plan
  std::size_t done_before = 0;
};

StartState prepare_run(pipeline::ModelBundle& models, const SweepOptions& o, const data::MsCxrDataset& ds) {
  // Every config must fit every T before any unit runs: a bad grid is the job's error, not the units'.
  for (int T : o.Ts) {
    pipeline::GroundingOptions g = o.grounding;
    g.T = T;
    const int n_steps = static_cast<int>(make_run_schedule(models, g).steps.size());
    for (const auto& c : g.configs) c.window(T, n_steps);
  }
  StartState st;
  st.plan = make_sweep_plan(ds, select_pairs(ds, o), o.Ts, sweep_settings(models, o));
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
    const SweepUnit& u = st.plan.units[i];
    const auto status = ledger.status(u.id);
    if (status == UnitStatus::ok) {
      const std::string problem = check_done_unit(o.run_dir, u, o.cache != CacheMode::none);
      if (problem.empty()) {
        ++st.done_before;
        continue;
      }
      log::warn("unit {} is recorded as done but its outputs are not usable ({}): running it again", u.id, problem);
    } else if (status == UnitStatus::failed && !o.retry_failed) {
      ++st.done_before;
      continue;
    }
    st.todo.push_back(static_cast<int>(i));
  }
  io::write_file_atomic(plan_path(o.run_dir), plan_to_json(st.plan).dump(1) + "\n");
  io::write_file_atomic(o.run_dir + "/job.ini", o.job_ini);
  return st;
}

void append_run_record(const std::string& run_dir, const nlohmann::json& j) {
  const std::string path = run_dir + "/runs.jsonl";
  std::string prev;
  if (fs::exists(path)) prev = io::read_file_bytes(path);
  io::write_file_atomic(path, prev + j.dump() + "\n");
}

}  // namespace

SweepOutcome run_sweep(const MpiEnv& env, pipeline::ModelBundle& models, const SweepOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  install_stop_handlers();
  const auto lock = lock_run_folder(env, o.run_dir);
  const bool root = env.rank() == 0;
  fs::create_directories(o.run_dir + "/logs");
  log::set_file(fmt::format("{}/logs/rank{}.log", o.run_dir, env.rank()));
  log::info("rank {} of {} on {} (local rank {}): device {}, {} CPU thread(s)", env.rank(), env.size(), env.node_name(),
            env.local_rank(), models.device, at::get_num_threads());

  // Rank 0 plans and checks what is done; everyone gets the same answer (or error).
  data::MsCxrOptions dopt;
  dopt.images_root = o.images_root;
  nlohmann::json start;
  if (root) {
    try {
      const data::MsCxrDataset ds = data::read_ms_cxr(o.dataset_csv, dopt);
      StartState st = prepare_run(models, o, ds);
      start = {{"plan", plan_to_json(st.plan)}, {"todo", st.todo}, {"done_before", st.done_before}};
    } catch (const Error& e) {
      start = {{"error", e.what()}};
    }
  }
  start = nlohmann::json::parse(env.broadcast(root ? start.dump() : std::string()));
  if (start.contains("error")) throw Error(start["error"].get<std::string>());
  const SweepPlan plan = plan_from_json(start["plan"], "the broadcast plan");
  const auto todo = start["todo"].get<std::vector<int>>();
  const data::MsCxrDataset ds = data::read_ms_cxr(o.dataset_csv, dopt);

  SweepOutcome out;
  out.units_total = plan.units.size();
  out.units_done_before = start["done_before"].get<std::size_t>();
  if (root) {
    log::info("sweep: {} units ({} pair(s) x {} T), {} done before, {} to run on {} rank(s); run folder {}",
              plan.units.size(), plan.pairs.size(), plan.Ts.size(), out.units_done_before, todo.size(), env.size(),
              o.run_dir);
    append_run_record(o.run_dir, {{"started_at", utc_now_iso8601()}, {"ranks", env.size()}, {"host", env.node_name()},
                                  {"version", version_string()}, {"units_to_run", todo.size()}});
  }

  RankState state(o.run_dir, env);
  WorkQueue queue(env.comm(), static_cast<std::int64_t>(todo.size()));
  UnitRunner runner(env, models, o, ds);
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
      nlohmann::json prov = {{"version", version_string()}, {"job", o.job}, {"files", models.file_hashes}};
      const auto g = write_sweep_results(o.run_dir, plan, ds, ledger, o.grounding.configs, o.report, prov);
      if (o.cache != CacheMode::none) write_cache_index(o.run_dir, plan, ledger);
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
