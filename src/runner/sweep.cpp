#include "runner/sweep.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/provenance.h"
#include "core/version.h"
#include "io/file_bytes.h"
#include "runner/attention_cache_reader.h"
#include "runner/image_scoring.h"
#include "runner/ledger.h"
#include "runner/model_bundle.h"
#include "runner/mpi_env.h"
#include "runner/run_lock.h"
#include "runner/shared_counter.h"
#include "runner/signals.h"
#include "runner/sweep_plan.h"
#include "runner/sweep_report.h"
#include "runner/unit_result.h"
#include "runner/work_queue.h"

namespace ldmg::runner {

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

SweepSettings sweep_settings(const ModelBundle& models, const SweepOptions& o) {
  const GroundingOptions& g = o.grounding;
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
    AttentionCacheReader reader(cache_unit_path(run_dir + "/cache", u.id));
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
  UnitRunner(const MpiEnv& env, ModelBundle& models, const SweepOptions& o, const data::MsCxrDataset& ds)
      : env_(env), models_(models), o_(o), ds_(ds) {}

  // Runs one unit and records it. Returns false if it failed.
  // tick(note): progress inside the unit (the note says which step), so a
  // long unit (T=300 on a CPU: minutes) does not look stuck.
  bool run(const SweepUnit& u, RankState& state, const std::function<void(const std::string&)>& tick) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<const data::Pair*> pairs;
    for (int i : u.pairs) pairs.push_back(&ds_[static_cast<std::size_t>(i)]);
    ImageScoringOptions so;
    so.grounding = o_.grounding;
    so.grounding.T = u.T;
    so.survival = o_.survival;
    so.class_name_override = o_.class_name_override;
    const auto schedule = make_run_schedule(models_, so.grounding);
    const int n_steps = static_cast<int>(schedule.steps.size());
    const auto [cb, ce] = cache_window(o_, o_.cache, u.T, n_steps);
    for (int l = 0; l < models_.unet->num_attn2_layers(); ++l) so.extra_capture.layers.push_back(l);
    so.extra_capture.begin = cb;
    so.extra_capture.end = ce;

    std::unique_ptr<AttentionCacheWriter> writer;
    auto factory = [&](const data::GrayImage& img, const std::vector<const data::Pair*>& grounded) -> diffusion::AttentionSink* {
      if (o_.cache == CacheMode::none) return nullptr;
      writer = std::make_unique<AttentionCacheWriter>(o_.run_dir + "/cache", cache_spec(u, img, grounded, schedule, cb, ce),
                                                      o_.cache_options);
      return writer.get();
    };
    auto progress = [&](int done, int total) {
      if (stop_requested()) throw Interrupted(fmt::format("unit {} abandoned on {}", u.id, signal_name(stop_signal())));
      tick(fmt::format("rank {}: T={} step {}/{}", env_.rank(), u.T, done, total));
    };

    UnitResult res;
    res.unit_id = u.id;
    res.T = u.T;
    for (const auto& c : o_.grounding.configs) res.configs.push_back(c.name());
    LedgerRecord rec;
    rec.unit_id = u.id;
    rec.rank = env_.rank();
    try {
      ScoredImage scored = score_image_pairs(models_, pairs, so, factory, progress);
      if (writer) writer->commit();
      res.rows = std::move(scored.rows);
      res.unet_calls = scored.unet_calls;
      rec.status = UnitStatus::ok;
    } catch (const Interrupted&) {
      throw;  // the writer's destructor removes its .tmp; nothing is recorded
    } catch (const std::exception& e) {  // ldmg::Error, or LibTorch's c10::Error
      writer.reset();
      log::error("unit {} (T={}, '{}') failed: {}", u.id, u.T, u.path, e.what());
      res.rows.clear();
      for (const auto* p : pairs) {
        PairRow r = base_row(*p);
        r.error = e.what();
        res.rows.emplace_back(o_.grounding.configs.size(), r);
      }
      rec.status = UnitStatus::failed;
      rec.error = e.what();
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rec.seconds = res.seconds;
    // Rows first, then the ledger: a unit the ledger calls done has its rows.
    write_unit_result(o_.run_dir, res);
    state.ledger.append(rec);
    log::info("unit {} T={} '{}' ({} pair(s)): {} in {:.1f} s, {} U-Net calls", u.id, u.T, u.path, u.pairs.size(),
              to_string(rec.status), res.seconds, res.unet_calls);
    return rec.status == UnitStatus::ok;
  }

 private:
  CacheUnitSpec cache_spec(const SweepUnit& u, const data::GrayImage& img, const std::vector<const data::Pair*>& grounded,
                           const diffusion::InversionSchedule& schedule, int cb, int ce) const {
    CacheUnitSpec spec;
    spec.unit_id = u.id;
    spec.T = u.T;
    spec.config_json = o_.job.dump();
    spec.provenance_json = nlohmann::json{{"version", version_string()}, {"files", models_.file_hashes}}.dump();
    spec.model_digest = models_digest(models_);
    for (const auto* p : grounded) {
      CachedPrompt cp;
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
  ModelBundle& models_;
  const SweepOptions& o_;
  const data::MsCxrDataset& ds_;
};

// Rank 0's view at the start: the plan and which units to run.
struct StartState {
  SweepPlan plan;
  std::vector<int> todo;  // unit positions in the plan
  std::size_t done_before = 0;
};

StartState prepare_run(ModelBundle& models, const SweepOptions& o, const data::MsCxrDataset& ds) {
  // Every config must fit every T before any unit runs: a bad grid is the job's error, not the units'.
  for (int T : o.Ts) {
    GroundingOptions g = o.grounding;
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

SweepOutcome run_sweep(const MpiEnv& env, ModelBundle& models, const SweepOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  install_stop_handlers();
  const auto lock = lock_run_folder(env, o.run_dir);
  const bool root = env.rank() == 0;
  fs::create_directories(o.run_dir + "/logs");
  log::set_file(fmt::format("{}/logs/rank{}.log", o.run_dir, env.rank()));

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
    while (!stop_requested() && state.stopped.load() == 0) {
      const std::int64_t k = queue.next();
      if (k < 0) break;
      const bool ok = runner.run(plan.units[static_cast<std::size_t>(todo[static_cast<std::size_t>(k)])], state, tick);
      ++out.units_run;
      state.done.fetch_add(1);
      tick({});
      if (!ok && o.fail_fast) {
        failed_fast = true;
        state.stopped.fetch_add(1);
        break;
      }
    }
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

}  // namespace ldmg::runner
