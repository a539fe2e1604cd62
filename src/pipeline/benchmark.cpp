#include "pipeline/benchmark.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/record_function.h>
#include <c10/core/CachingDeviceAllocator.h>
#include <fmt/ranges.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <sstream>

#include <time.h>

#include "core/check.h"
#include "core/log.h"
#include "core/version.h"
#include "grounding/heatmap_aggregation.h"
#include "grounding/token_selection.h"
#include "model/model_config.h"
#include "model/random_weights.h"
#include "pipeline/heatmap_config.h"
#include "pipeline/image_grounder.h"

namespace ldmg::pipeline {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds of all this process's threads (the load-independent measure on a shared machine).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::int64_t status_field_kib(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string k = std::string(key) + ":";
  while (std::getline(f, line))
    if (line.rfind(k, 0) == 0) return std::stoll(line.substr(k.size())) * 1024;
  return 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Feeds every captured map to one accumulator per prompt (the online path's
// work per map, without a heatmap config router).
class BenchSink final : public diffusion::AttentionSink {
 public:
  explicit BenchSink(int prompts) {
    for (int p = 0; p < prompts; ++p) acc_.emplace_back(grounding::explicit_tokens(1, 9, 10));
  }
  void on_maps(int step, int layer, int prompt, const at::Tensor& probs, std::int64_t h, std::int64_t w) override {
    acc_.at(prompt).add_probs(layer, step, probs, h, w);
  }
  void finish() const {
    for (const auto& a : acc_) (void)a.finish();
  }
  at::Tensor map(int prompt) const { return acc_.at(static_cast<std::size_t>(prompt)).finish(); }

 private:
  std::vector<grounding::HeatmapAccumulator> acc_;
};

// Counts the multiply-adds (x2) of the matmul and convolution kernels the
// calling thread dispatches; elementwise ops, norms and softmax are not counted.
thread_local double g_flops = 0;

std::vector<std::int64_t> sizes_of(const c10::IValue& v) {
  if (!v.isTensor()) return {};
  const auto s = v.toTensor().sizes();
  return {s.begin(), s.end()};
}

std::unique_ptr<at::ObserverContext> count_flops(const at::RecordFunction& fn) {
  const std::string_view name = fn.name();
  const auto in = fn.inputs();
  auto dims = [&](std::size_t i) { return i < in.size() ? sizes_of(in[i]) : std::vector<std::int64_t>{}; };
  if (name == "aten::mm" || name == "aten::addmm") {
    const std::size_t o = name == "aten::mm" ? 0 : 1;
    const auto a = dims(o), b = dims(o + 1);
    if (a.size() == 2 && b.size() == 2) g_flops += 2.0 * a[0] * a[1] * b[1];
  } else if (name == "aten::bmm" || name == "aten::baddbmm") {
    const std::size_t o = name == "aten::bmm" ? 0 : 1;
    const auto a = dims(o), b = dims(o + 1);
    if (a.size() == 3 && b.size() == 3) g_flops += 2.0 * a[0] * a[1] * a[2] * b[2];
  } else if (name == "aten::convolution") {
    const auto x = dims(0), wt = dims(1);
    if (x.size() == 4 && wt.size() == 4 && in.size() > 5) {
      const auto stride = in[3].toIntVector(), pad = in[4].toIntVector(), dil = in[5].toIntVector();
      double out_hw = 1;
      for (int d = 0; d < 2; ++d)
        out_hw *= static_cast<double>((x[2 + d] + 2 * pad[d] - dil[d] * (wt[2 + d] - 1) - 1) / stride[d] + 1);
      g_flops += 2.0 * x[0] * wt[0] * wt[1] * wt[2] * wt[3] * out_hw;
    }
  } else if (name.find("scaled_dot_product_flash_attention") != std::string_view::npos ||
             name.find("scaled_dot_product_efficient_attention") != std::string_view::npos ||
             name.find("scaled_dot_product_cudnn_attention") != std::string_view::npos) {
    const auto q = dims(0), k = dims(1);  // [B, H, L, E], [B, H, S, E]
    if (q.size() == 4 && k.size() == 4) g_flops += 4.0 * q[0] * q[1] * q[2] * k[2] * q[3];
  }
  return nullptr;
}

// CUDA through LibTorch's device-generic API (no CUDA headers needed): a
// device synchronisation around every timing, the caching allocator's peak.
void synchronize(const at::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

c10::DeviceAllocator* cuda_allocator() { return c10::getDeviceAllocator(c10::DeviceType::CUDA); }

void reset_device_peak(const at::Device& d) {
  if (d.is_cuda()) cuda_allocator()->resetPeakStats(d.index());
}

std::int64_t device_peak(const at::Device& d) {
  if (!d.is_cuda()) return 0;
  const auto stats = cuda_allocator()->getDeviceStats(d.index());
  return stats.allocated_bytes[static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
}

// Wall seconds of fn(), the device's queued work included.
double timed(const at::Device& d, const std::function<void()>& fn) {
  synchronize(d);
  const auto t0 = Clock::now();
  fn();
  synchronize(d);
  return seconds_since(t0);
}

// "161.6 GFLOP/s" below 1 TFLOP/s, "21.35 TFLOP/s" above.
std::string flop_rate(double flops_per_second) {
  return flops_per_second >= 1e12 ? fmt::format("{:.2f} TFLOP/s", flops_per_second / 1e12)
                                  : fmt::format("{:.1f} GFLOP/s", flops_per_second / 1e9);
}

double measure_flops(const std::function<void()>& fn) {
  g_flops = 0;
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&count_flops).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  fn();
  at::removeCallback(handle);
  return g_flops;
}

double matmul_peak_gflops(int n, at::ScalarType dtype, const at::Device& dev) {
  const at::Tensor a = at::randn({n, n}).to(dev, dtype), b = at::randn({n, n}).to(dev, dtype);
  (void)timed(dev, [&] { (void)at::mm(a, b); });  // warm-up
  double best = 1e30;
  for (int r = 0; r < 3; ++r) best = std::min(best, timed(dev, [&] { (void)at::mm(a, b); }));
  return 2.0 * n * n * static_cast<double>(n) / best / 1e9;
}

std::string human_bytes(double b) {
  if (b <= 0) return "n/a";
  return b >= 1024.0 * 1024 * 1024 ? fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024))
                                   : fmt::format("{:.0f} MiB", b / (1024.0 * 1024));
}

struct Models {
  model::DiffusionUNet unet{nullptr};
  model::SchedulerConfig scheduler;
};

// The U-Net in float32 on `dev` (the weights `--export` writes: seed + 1).
Models build_models(const BenchOptions& o, const at::Device& dev) {
  const std::string ldm = o.configs_dir + "/ldm/ldm_v0.yaml";
  LDMG_CHECK(fs::exists(ldm), "bench: no U-Net config '{}' (pass --configs DIR with ldm/ldm_v0.yaml)", ldm);
  Models m;
  model::RandomWeightOptions rw;
  rw.seed = o.seed + 1;
  m.unet = model::random_diffusion_unet(model::load_unet_config(ldm), rw);
  m.unet->to(dev);
  m.scheduler = model::load_scheduler_config(ldm);
  return m;
}


}  // namespace

std::int64_t current_rss() { return status_field_kib("VmRSS"); }
std::int64_t peak_rss() { return status_field_kib("VmHWM"); }
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  return static_cast<bool>(f.flush());
}

BenchResult run_benchmark(const BenchOptions& o) {
  LDMG_CHECK(o.T >= 1 && o.T <= o.target_T, "bench: --T {} must be in 1..--target-T {}", o.T, o.target_T);
  at::Device dev(o.device);
  if (dev.is_cuda() && !dev.has_index()) dev = at::Device(at::kCUDA, 0);
  LDMG_CHECK(!dev.is_cuda() || torch::cuda::is_available(), "bench --device {}: this build or machine has no CUDA device",
             o.device);
  c10::InferenceMode inference;
  BenchResult res;
  res.options = o;
  res.options.device = dev.str();
  res.threads = at::get_num_threads();
  Models m = build_models(o, dev);
  for (const auto& p : m.unet->parameters()) res.unet_params += static_cast<double>(p.numel());
  const auto params = schedule_params(m.scheduler);
  const auto sched = diffusion::make_schedule(params, o.T);
  const auto sched_target = diffusion::make_schedule(params, o.target_T);
  HeatmapConfig config;
  config.layers = o.layers;
  res.steps_T = static_cast<int>(sched.steps.size());
  res.steps_target = static_cast<int>(sched_target.steps.size());
  res.window_T = config.window(o.T, res.steps_T);
  res.window_target = config.window(o.target_T, res.steps_target);
  const auto& ucfg = m.unet->config();
  const std::int64_t D = ucfg.cross_attention_dim, C = ucfg.in_channels;

  // Inputs drawn on the CPU, so every device times the same numbers.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const at::Tensor z0 = at::randn({1, C, 64, 64}, gen).to(dev);  // the latent of a 512x512 image
  const int max_prompts = *std::max_element(o.prompts_per_image.begin(), o.prompts_per_image.end());
  const at::Tensor emb = at::randn({1 + max_prompts, 77, D}, gen).to(dev);  // "" and the prompts
  const auto prediction = params.prediction_type;
  auto step = [&](const at::Tensor& z, const at::Tensor& v, const diffusion::ScheduleStep& s) {
    return diffusion::inverse_step(z, v, s, prediction);
  };

  // The U-Net casts its float32 inputs to its weights' dtype and back.
  const auto unet_dtype = model::scalar_type(o.precision);
  auto forward = [&](const at::Tensor& x, const at::Tensor& t, const at::Tensor& ctx, model::AttentionObserver* obs,
                     int stop) { return m.unet->forward(x, t, ctx, obs, stop); };

  // Error against fp32: the fast 1-prompt inversion at T in fp32, then in
  // the precision under test, on the same weights and inputs.
  auto error_run = [&]() {
    diffusion::InversionRequest req;
    req.z0 = z0;
    req.uncond = emb.slice(0, 0, 1);
    req.conds = emb.slice(0, 1, 2);
    req.steps = sched.steps;
    req.layers = o.layers;
    req.capture_begin = res.window_T.first;
    req.capture_end = res.window_T.second;
    req.mode = diffusion::InversionMode::fast;
    BenchSink sink(1);
    at::Tensor last;
    const double seconds = timed(dev, [&] {
      (void)diffusion::run_inversion(forward, step, req, sink, [&](int, const at::Tensor& z) { last = z; });
    });
    const at::Tensor h = sink.map(0);
    return std::make_tuple((h - h.min()) / (h.max() - h.min()), last, seconds);
  };
  // The authors' call, a full batch-2 forward: a warm-up (CUDA's lazy
  // initialisation, cuDNN plans) before anything is timed.
  const at::Tensor x2 = at::cat({z0, z0}, 0), t500 = at::full({1}, 500, at::TensorOptions(at::kLong).device(dev));
  const at::Tensor ctx2 = emb.slice(0, 0, 2);
  model::set_cuda_math_mode(model::Precision::fp32, dev.is_cuda());
  log::info("bench: U-Net {:.0f} M parameters on {}; warm-up call", res.unet_params / 1e6, dev.str());
  (void)timed(dev, [&] { (void)forward(x2, t500, ctx2, nullptr, -1); });
  if (o.precision != model::Precision::fp32) {
    log::info("bench: fast x1 at T={} in fp32, the reference for {}", o.T, model::to_string(o.precision));
    const auto [h32, z32, s32] = error_run();
    m.unet->to(unet_dtype);
    model::set_cuda_math_mode(o.precision, dev.is_cuda());
    const auto [h16, z16, s16] = error_run();
    res.precision_error.fp32_seconds = s32;
    res.precision_error.seconds = s16;
    res.precision_error.heatmap_max_abs = (h16 - h32).abs().max().item<double>();
    res.precision_error.heatmap_mean_abs = (h16 - h32).abs().mean().item<double>();
    res.precision_error.latent_rel_l2 = ((z16 - z32).norm() / z32.norm()).item<double>();
  }

  // FLOPs of that call in the precision under test (its first call there
  // doubles as the warm-up, on the CPU the counted call is the timed one),
  // then on a GPU its time without the counting callback, the median of 3.
  if (o.flops)
    res.seconds_per_call =
        timed(dev, [&] { res.flops_per_call = measure_flops([&] { (void)forward(x2, t500, ctx2, nullptr, -1); }); });
  if (dev.is_cuda() || !o.flops) {
    std::vector<double> times;
    for (int r = 0; r < (dev.is_cuda() ? 3 : 1); ++r)
      times.push_back(timed(dev, [&] { (void)forward(x2, t500, ctx2, nullptr, -1); }));
    res.seconds_per_call = median(times);
  }
  if (o.peak_matmul_n > 0) res.peak_gflops = matmul_peak_gflops(o.peak_matmul_n, unet_dtype, dev);

  auto request_for = [&](const diffusion::InversionSchedule& s, std::pair<int, int> window, int prompts,
                         diffusion::InversionMode mode) {
    diffusion::InversionRequest req;
    req.z0 = z0;
    req.uncond = emb.slice(0, 0, 1);
    req.conds = emb.slice(0, 1, 1 + prompts);
    req.steps = s.steps;
    req.layers = o.layers;
    req.capture_begin = window.first;
    req.capture_end = window.second;
    req.mode = mode;
    return req;
  };

  // `images` > 1: that many images (z0 rolled by i pixels: other values, the
  // same work) of one batched fast inversion, each with `prompts` prompts.
  struct ImageBatch {
    std::vector<diffusion::InversionRequest> requests;
    std::vector<std::unique_ptr<BenchSink>> sinks;
    std::vector<diffusion::BatchedImage> images;
  };
  auto batch_for = [&](const diffusion::InversionSchedule& s, std::pair<int, int> window, int prompts, int images) {
    ImageBatch b;
    for (int i = 0; i < images; ++i) {
      b.requests.push_back(request_for(s, window, prompts, diffusion::InversionMode::fast));
      b.requests.back().z0 = z0.roll(i, -1);
      b.sinks.push_back(std::make_unique<BenchSink>(prompts));
    }
    for (int i = 0; i < images; ++i) b.images.push_back({&b.requests[i], b.sinks[i].get(), {}});
    return b;
  };
  auto invert = [&](const diffusion::UNetCall& unet, const diffusion::InverseStepFn& inverse,
                    const diffusion::InversionSchedule& s, std::pair<int, int> window, int prompts, int images,
                    diffusion::InversionMode mode, bool finish) {
    if (images == 1) {
      BenchSink sink(prompts);
      const int calls = diffusion::run_inversion(unet, inverse, request_for(s, window, prompts, mode), sink).unet_calls;
      if (finish) sink.finish();
      return calls;
    }
    ImageBatch b = batch_for(s, window, prompts, images);
    const int calls = diffusion::run_batched_inversion(unet, inverse, b.images).unet_calls;
    if (finish)
      for (const auto& sink : b.sinks) sink->finish();
    return calls;
  };

  auto run_row = [&](diffusion::InversionMode mode, const std::string& mode_name, int prompts, int images) {
    BenchRow row;
    row.mode = mode_name;
    row.prompts = prompts;
    row.images = images;
    // Dry run at the target T: the calls of each kind (no model involved).
    std::map<CallKind, int> target_counts;
    {
      auto count_unet = [&](const at::Tensor& x, const at::Tensor&, const at::Tensor&, model::AttentionObserver*,
                            int stop) {
        ++target_counts[{x.size(0), stop}];
        return stop >= 0 ? at::Tensor() : at::zeros_like(x);
      };
      auto same = [](const at::Tensor& z, const at::Tensor&, const diffusion::ScheduleStep&) { return z; };
      row.target_unet_calls = invert(count_unet, same, sched_target, res.window_target, prompts, images, mode, false);
    }
    // The measured run at T.
    auto timed_unet = [&](const at::Tensor& x, const at::Tensor& t, const at::Tensor& ctx, model::AttentionObserver* obs,
                          int stop) {
      synchronize(dev);
      const auto t0 = Clock::now();
      const double c0 = process_cpu_seconds();
      at::Tensor out = forward(x, t, ctx, obs, stop);
      synchronize(dev);
      row.call_times[{x.size(0), stop}].push_back(seconds_since(t0));
      row.call_cpu_times[{x.size(0), stop}].push_back(process_cpu_seconds() - c0);
      return out;
    };
    // Rows whose call kinds an earlier 1-image row of this mode measured need no run.
    std::map<CallKind, std::vector<double>> known, known_cpu;
    for (const auto& r : res.rows)
      if (r.mode == mode_name && r.images == 1)
        for (const auto& [kind, times] : r.call_times) {
          known[kind] = times;
          known_cpu[kind] = r.call_cpu_times.at(kind);
        }
    bool covered = o.derive_covered_rows && images == 1;
    for (const auto& [kind, n] : target_counts) covered = covered && known.count(kind);
    if (covered) {
      row.derived = true;
      row.call_times = known;
      row.call_cpu_times = known_cpu;
    } else {
      const bool reset = reset_peak_rss();
      reset_device_peak(dev);
      log::info("bench: {} with {} prompt(s){} at T={} ...", mode_name, prompts,
                images > 1 ? fmt::format(", {} images batched", images) : std::string(), o.T);
      row.seconds = timed(dev, [&] { row.unet_calls = invert(timed_unet, step, sched, res.window_T, prompts, images,
                                                             mode, true); });
      row.peak_rss = reset ? peak_rss() : 0;
      row.peak_device = device_peak(dev);
      for (const auto& [kind, times] : row.call_times)
        row.unet_seconds += std::accumulate(times.begin(), times.end(), 0.0);
    }
    // Extrapolate: target counts x median time per kind, + the rest scaled by calls.
    double est = 0, est_cpu = 0;
    for (const auto& [kind, n] : target_counts) {
      const auto it = row.call_times.find(kind);
      LDMG_ASSERT(it != row.call_times.end(), "bench: call kind (batch {}, stop {}) not measured at T={}", kind.first,
                  kind.second, o.T);
      est += n * median(it->second);
      est_cpu += n * median(row.call_cpu_times.at(kind));
    }
    const double other = row.derived ? 0.0 : std::max(0.0, row.seconds - row.unet_seconds);
    row.target_seconds = est + other * row.target_unet_calls / std::max(1, row.unet_calls);
    row.target_cpu_seconds = est_cpu;
    log::info("bench: {} x{}: {:.1f} s measured, {:.0f} s at T={} (est)", row.label(), prompts, row.seconds,
              row.target_seconds, o.target_T);
    res.rows.push_back(std::move(row));
  };

  std::vector<std::pair<diffusion::InversionMode, std::string>> modes;
  if (o.run_faithful) modes.emplace_back(diffusion::InversionMode::faithful, "faithful");
  if (o.run_fast) modes.emplace_back(diffusion::InversionMode::fast, "fast");
  for (const auto& [mode, mode_name] : modes)
    for (int prompts : o.prompts_per_image) run_row(mode, mode_name, prompts, 1);
  for (int images : o.batch_images)
    if (images > 1)
      for (int prompts : o.prompts_per_image) run_row(diffusion::InversionMode::fast, "fast", prompts, images);

  // Per-call table: float32-weight precisions first, so the U-Net is rebuilt
  // (deterministically, from the seed) only to leave a 16-bit type.
  if (!o.call_batches.empty() && !o.call_precisions.empty()) {
    std::vector<model::Precision> order = o.call_precisions;
    std::stable_partition(order.begin(), order.end(),
                          [](model::Precision p) { return model::scalar_type(p) == at::kFloat; });
    at::ScalarType weights = unet_dtype;
    for (const model::Precision p : order) {
      const at::ScalarType want = model::scalar_type(p);
      if (want != weights) {
        if (weights != at::kFloat) m.unet = build_models(o, dev).unet;
        m.unet->to(want);
        weights = want;
      }
      model::set_cuda_math_mode(p, dev.is_cuda());
      for (const int b : o.call_batches) {
        LDMG_CHECK(b >= 1, "bench --call-batches: {} is not >= 1", b);
        const at::Tensor x = z0.repeat({b, 1, 1, 1}), ctx = emb.slice(0, 0, 1).repeat({b, 1, 1});  // [b,C,64,64], [b,77,D]
        CallTiming c;
        c.precision = p;
        c.batch = b;
        (void)timed(dev, [&] { (void)forward(x, t500, ctx, nullptr, -1); });  // warm-up (cuDNN plans, allocator)
        if (o.flops) c.flops = measure_flops([&] { (void)forward(x, t500, ctx, nullptr, -1); });
        std::vector<double> times;
        for (int r = 0; r < std::max(1, o.call_reps); ++r)
          times.push_back(timed(dev, [&] { (void)forward(x, t500, ctx, nullptr, -1); }));
        c.seconds = median(times);
        log::info("bench: call {} batch {}: {:.4f} s", model::to_string(p), b, c.seconds);
        if (o.graph_timer && dev.is_cuda()) {
          try {
            const GraphReplayTiming g =
                o.graph_timer(dev, [&] { return forward(x, t500, ctx, nullptr, -1); }, std::max(1, o.call_reps));
            c.graph_seconds = median(g.replay_seconds);
            c.graph_max_abs_diff = g.max_abs_diff;
            log::info("bench: call {} batch {} as a CUDA graph: {:.4f} s (max |graph - eager| {:.2e})",
                      model::to_string(p), b, c.graph_seconds, c.graph_max_abs_diff);
          } catch (const std::exception& e) {
            c.graph_error = e.what();
            log::warn("bench: call {} batch {}: {}", model::to_string(p), b, c.graph_error);
          }
        }
        res.calls.push_back(c);
      }
    }
  }
  model::set_cuda_math_mode(o.precision, dev.is_cuda());
  return res;
}

std::string BenchRow::label() const { return images > 1 ? fmt::format("{}/{}im", mode, images) : mode; }

double BenchResult::seconds_per_pair(const std::string& mode) const {
  for (const auto& r : rows)
    if (r.mode == mode && r.prompts == 1 && r.images == 1) return r.target_seconds;
  return 0;
}

std::string BenchResult::report() const {
  std::ostringstream s;
  const auto& o = options;
  const bool cuda = on_cuda();
  s << fmt::format("ldmground {} bench: real-size U-Net ({:.0f} M params, random weights, {}), {} threads, {}latent 3x64x64\n",
                   version_string(), unet_params / 1e6, model::to_string(o.precision), threads,
                   cuda ? fmt::format("device {}, ", o.device) : std::string());
  s << fmt::format("schedule: T={} -> {} steps, window [{},{}); T={} -> {} steps, window [{},{}); layers {}\n", o.T,
                   steps_T, window_T.first, window_T.second, o.target_T, steps_target, window_target.first,
                   window_target.second, fmt::join(o.layers, ","));
  s << fmt::format("{:<9} {:>7} {:>9} {:>11} {:>10} {:>10} {:>13} {:>12} {:>9} {:>16} {:>10}\n", "mode", "prompts",
                   fmt::format("calls@{}", o.T), fmt::format("s/pair@{}", o.T), "calls/s",
                   fmt::format("calls@{}", o.target_T), fmt::format("s/pair@{}", o.target_T),
                   fmt::format("s/img@{}", o.target_T), "min/pair", fmt::format("cpu-s/pair@{}", o.target_T),
                   cuda ? "peak GPU" : "peak RSS");
  // Seconds print with 2 decimals below 100 s (GPU rows), as integers above.
  auto secs = [](double v) { return v < 100 ? fmt::format("{:.2f}", v) : fmt::format("{:.0f}", v); };
  for (const auto& r : rows) {
    // Per pair and per image: a batched row's seconds are its batch's.
    const double pairs = static_cast<double>(r.prompts) * r.images;
    const std::string at_target = secs(r.target_seconds / pairs), image = secs(r.target_seconds / r.images);
    if (r.derived)
      s << fmt::format("{:<9} {:>7} {:>9} {:>11} {:>10} {:>10} {:>13} {:>12} {:>9.1f} {:>16.0f} {:>10}\n", r.label(),
                       r.prompts, "-", "(derived)", "-", r.target_unet_calls, at_target, image,
                       r.target_seconds / pairs / 60, r.target_cpu_seconds / pairs, "-");
    else
      s << fmt::format("{:<9} {:>7} {:>9} {:>11} {:>10.3f} {:>10} {:>13} {:>12} {:>9.1f} {:>16.0f} {:>10}\n",
                       r.label(), r.prompts, r.unet_calls, secs(r.seconds / pairs),
                       r.unet_calls / std::max(1e-9, r.unet_seconds), r.target_unet_calls, at_target, image,
                       r.target_seconds / pairs / 60, r.target_cpu_seconds / pairs,
                       human_bytes(static_cast<double>(cuda ? r.peak_device : r.peak_rss)));
  }
  s << "(derived: not run; the call kinds it needs were timed in the row above, see --measure-all)\n";
  if (!o.batch_images.empty())
    s << "(fast/Nim: N images inverted in one batched fast inversion, as sweep --batch-images N; seconds per pair "
         "and per image of the batch)\n";
  s << "median seconds per U-Net call kind (batch, stop after attn2 layer; -1 = full):\n";
  for (const auto& r : rows) {
    s << fmt::format("  {} x{}:", r.label(), r.prompts);
    for (const auto& [kind, times] : r.call_times)
      s << fmt::format(" (b{},{}) {:.{}f}s n={}", kind.first, kind.second, median(times), cuda ? 4 : 2, times.size());
    s << "\n";
  }
  if (flops_per_call > 0)
    s << fmt::format("FLOPs per batch-2 U-Net call (matmul+conv): {:.1f} GFLOP in {:.{}f} s = {}", flops_per_call / 1e9,
                     seconds_per_call, cuda ? 4 : 2, flop_rate(flops_per_call / seconds_per_call));
  if (peak_gflops > 0)
    s << fmt::format("; {} matmul peak (at::mm {}^2) {} ({:.0f}% of peak)",
                     o.precision == model::Precision::fp32 ? "sgemm" : model::to_string(o.precision), o.peak_matmul_n,
                     flop_rate(peak_gflops * 1e9),
                     flops_per_call > 0 ? 100.0 * flops_per_call / 1e9 / seconds_per_call / peak_gflops : 0.0);
  s << "\n";
  if (!calls.empty()) {
    s << fmt::format("full U-Net call by batch and precision (median of {} after a warm-up):\n", std::max(1, o.call_reps));
    const bool graphs = o.graph_timer && on_cuda();
    s << fmt::format("  {:<9} {:>5} {:>10} {:>10} {:>14}{}\n", "precision", "batch", "ms/call", "rows/s", "achieved",
                     graphs ? fmt::format(" {:>12} {:>8}", "graph ms", "eager/graph") : std::string());
    for (const auto& c : calls) {
      std::string graph_cells;
      if (graphs)
        graph_cells = c.graph_seconds > 0 ? fmt::format(" {:>12.3f} {:>7.2f}x", c.graph_seconds * 1e3,
                                                        c.seconds / c.graph_seconds)
                                          : fmt::format(" {:>12} {:>8}", "failed", "-");
      s << fmt::format("  {:<9} {:>5} {:>10.2f} {:>10.1f} {:>14}{}\n", model::to_string(c.precision), c.batch,
                       c.seconds * 1e3, c.batch / std::max(1e-12, c.seconds),
                       c.flops > 0 ? flop_rate(c.flops / c.seconds) : std::string("-"), graph_cells);
    }
    for (const auto& c : calls)
      if (!c.graph_error.empty())
        s << fmt::format("  CUDA graph of {} batch {}: {}\n", model::to_string(c.precision), c.batch, c.graph_error);
  }
  if (o.precision != model::Precision::fp32)
    s << fmt::format("{} vs fp32 (fast, 1 prompt, T={}, layers {}): normalised heatmap max |d| {:.2e}, mean |d| "
                     "{:.2e}; last latent relative L2 error {:.2e}; time {:.1f} s vs {:.1f} s in fp32 ({:.2f}x)\n",
                     model::to_string(o.precision), o.T, fmt::join(o.layers, ","), precision_error.heatmap_max_abs,
                     precision_error.heatmap_mean_abs, precision_error.latent_rel_l2, precision_error.seconds,
                     precision_error.fp32_seconds, precision_error.fp32_seconds / std::max(1e-9, precision_error.seconds));
  auto speedup = [&](int prompts, bool cpu) -> double {
    double faithful = 0, fast = 0;
    for (const auto& r : rows) {
      if (r.prompts != prompts || r.images != 1) continue;
      (r.mode == "fast" ? fast : faithful) = cpu ? r.target_cpu_seconds : r.target_seconds;
    }
    return fast > 0 && faithful > 0 ? faithful / fast : 0.0;
  };
  // Ours against the authors' pipeline, per 1-prompt pair at target_T.
  const double vs_authors = authors.ran && seconds_per_pair("fast") > 0
                                ? authors.target_seconds_per_pair / seconds_per_pair("fast") : 0.0;
  if (authors.ran) {
    s << fmt::format("authors' pipeline (bench/official_pipeline.py, torch {}, {}): {:.4f} s per batch-2 U-Net call, "
                     "{} s/pair at T={}; peak {} {}\n",
                     authors.torch_version, authors.device, authors.seconds_per_unet_call,
                     secs(authors.target_seconds_per_pair), o.target_T, authors.device.rfind("cuda", 0) == 0 ? "GPU" : "RSS",
                     human_bytes(authors.peak_bytes));
    std::vector<std::string> ours;
    for (const char* mode : {"fast", "faithful"})
      if (seconds_per_pair(mode) > 0)
        ours.push_back(fmt::format("{} {} s ({:.2f}x the authors')", mode, secs(seconds_per_pair(mode)),
                                   authors.target_seconds_per_pair / seconds_per_pair(mode)));
    s << fmt::format("ours per pair at T={}: {}\n", o.target_T, fmt::join(ours, ", "));
  }
  for (int p : o.prompts_per_image)
    if (p != 1 && speedup(p, false) > 0)
      s << fmt::format("fast/faithful speedup, {} prompts per image: {:.2f}x (process CPU time: {:.2f}x)\n", p,
                       speedup(p, false), speedup(p, true));
  if (speedup(1, true) > 0 && !cuda)
    s << fmt::format("fast/faithful speedup by process CPU time, 1 prompt: {:.2f}x\n", speedup(1, true));
  if (vs_authors > 0 && !cuda) s << fmt::format("cpu speedup vs authors: {:.2f}x\n", vs_authors);
  if (speedup(1, false) > 0) s << fmt::format("fast/faithful speedup: {:.2f}x\n", speedup(1, false));
  if (vs_authors > 0 && cuda) s << fmt::format("gpu speedup vs authors: {:.2f}x\n", vs_authors);
  return s.str();
}

nlohmann::ordered_json BenchResult::to_json() const {
  using nlohmann::ordered_json;
  const auto& o = options;
  ordered_json j;
  j["schema_version"] = 1;
  j["made_by"] = fmt::format("ldmground {} bench", version_string());
  j["device"] = o.device;
  j["threads"] = threads;
  j["precision"] = model::to_string(o.precision);
  j["T"] = o.T;
  j["target_T"] = o.target_T;
  j["steps_T"] = steps_T;
  j["steps_target"] = steps_target;
  j["layers"] = o.layers;
  j["unet_params"] = unet_params;
  j["flops_per_call"] = flops_per_call;
  j["seconds_per_call"] = seconds_per_call;
  j["achieved_flops_per_second"] = seconds_per_call > 0 ? flops_per_call / seconds_per_call : 0.0;
  j["matmul_peak_flops_per_second"] = peak_gflops * 1e9;
  j["rows"] = ordered_json::array();
  for (const auto& r : rows)
    j["rows"].push_back({{"mode", r.mode},
                         {"prompts", r.prompts},
                         {"images", r.images},
                         {"derived", r.derived},
                         {"unet_calls", r.unet_calls},
                         {"seconds_per_image", r.seconds / r.images},
                         {"target_unet_calls", r.target_unet_calls},
                         {"target_seconds_per_image", r.target_seconds / r.images},
                         {"target_seconds_per_pair", r.target_seconds / r.images / r.prompts},
                         {"target_cpu_seconds_per_pair", r.target_cpu_seconds / r.images / r.prompts},
                         {"peak_rss_bytes", r.peak_rss},
                         {"peak_device_bytes", r.peak_device}});
  j["calls"] = ordered_json::array();
  for (const auto& c : calls)
    j["calls"].push_back({{"precision", model::to_string(c.precision)},
                          {"batch", c.batch},
                          {"seconds", c.seconds},
                          {"flops", c.flops},
                          {"flops_per_second", c.seconds > 0 ? c.flops / c.seconds : 0.0},
                          {"graph_seconds", c.graph_seconds},
                          {"graph_max_abs_diff", c.graph_max_abs_diff},
                          {"graph_error", c.graph_error}});
  if (o.precision != model::Precision::fp32)
    j["precision_error"] = {{"heatmap_max_abs", precision_error.heatmap_max_abs},
                            {"heatmap_mean_abs", precision_error.heatmap_mean_abs},
                            {"latent_rel_l2", precision_error.latent_rel_l2},
                            {"seconds", precision_error.seconds},
                            {"fp32_seconds", precision_error.fp32_seconds}};
  const double fast = seconds_per_pair("fast"), faithful = seconds_per_pair("faithful");
  j["speedup"] = {{"fast_vs_faithful", fast > 0 && faithful > 0 ? faithful / fast : 0.0}};
  if (authors.ran) {
    j["authors"] = {{"device", authors.device},
                    {"torch", authors.torch_version},
                    {"seconds_per_unet_call", authors.seconds_per_unet_call},
                    {"target_seconds_per_pair", authors.target_seconds_per_pair},
                    {"peak_bytes", authors.peak_bytes}};
    j["speedup"]["fast_vs_authors"] = fast > 0 ? authors.target_seconds_per_pair / fast : 0.0;
    j["speedup"]["faithful_vs_authors"] = faithful > 0 ? authors.target_seconds_per_pair / faithful : 0.0;
  }
  return j;
}

AuthorsRun parse_authors_json(const std::string& json_text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    LDMG_FAIL("{}: not JSON ({})", what, e.what());
  }
  auto number = [&](const char* key) {
    LDMG_CHECK(j.contains(key) && j[key].is_number(), "{}: expected a number '{}' (bench/official_pipeline.py --json)",
               what, key);
    return j[key].get<double>();
  };
  AuthorsRun a;
  a.ran = true;
  a.device = j.value("device", std::string("cpu"));
  a.torch_version = j.value("torch", std::string("?"));
  a.seconds_per_unet_call = number("seconds_per_unet_call");
  a.target_seconds_per_pair = number("target_seconds_per_pair");
  a.peak_bytes = j.contains("peak_device_bytes") ? number("peak_device_bytes") : number("peak_rss_bytes");
  LDMG_CHECK(a.target_seconds_per_pair > 0, "{}: target_seconds_per_pair is {}", what, a.target_seconds_per_pair);
  return a;
}

}  // namespace ldmg::pipeline
