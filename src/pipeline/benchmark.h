#pragma once
// `ldmground bench`: faithful vs fast inversion on the real-size
// architecture (the authors' configs, random weights made by our code),
// timed per image-prompt pair at a reduced T and extrapolated to T=300.
//
// Extrapolation: every U-Net call is timed and keyed by its kind (batch
// rows, full forward or stopped after attn2 layer L). A dry run of
// run_inversion at the target T with a zero-cost U-Net counts the calls of
// each kind there; the estimate is sum(count_kind(T300) * median_time_kind)
// plus the measured non-U-Net time (inverse step, capture) scaled by the
// ratio of U-Net calls. The schedule, window (T//2 +- 10*T//100) and stop
// point are the real ones at both T, so the structure is that of T=300.
//
// On a CUDA device every timed call is bracketed by a device synchronisation,
// the memory column is the caching allocator's peak of allocated bytes (as
// torch.cuda.max_memory_allocated), and a table of full U-Net calls by batch
// size and precision gives the achieved TFLOP/s.
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "diffusion/inversion.h"
#include "model/precision.h"
#include "pipeline/cuda_graph_replay.h"

namespace ldmg::pipeline {

struct BenchOptions {
  std::string configs_dir = "../shared/fixtures/configs";  // ldm/ldm_v0.yaml, stage1/aekl_v0.yaml
  std::string device = "cpu";  // cpu | cuda | cuda:N (resolve "auto" before)
  int T = 30;            // measured
  int target_T = 300;    // extrapolated to
  std::vector<int> prompts_per_image = {1, 2};
  // Also rows of the fast inversion batched across images
  // (diffusion::run_batched_inversion, as `sweep --batch-images N`): one row
  // per N > 1 and prompt count, timed per image. Empty: none.
  std::vector<int> batch_images;
  std::vector<int> layers = {3, 4, 6, 7};
  std::uint64_t seed = 1;
  bool run_faithful = true;
  bool run_fast = true;
  bool flops = true;       // count FLOPs of one batch-2 U-Net call
  int peak_matmul_n = 4096;  // 0 = skip the sgemm peak
  // Skip the timed run of a row whose call kinds an earlier row of the same
  // mode has measured (faithful with 2 prompts = 2 x the same batch-2
  // calls); its estimate comes from those medians. false: run every row.
  bool derive_covered_rows = true;
  // U-Net arithmetic of the timed rows. Below fp32, the fast 1-prompt
  // inversion at T also runs in fp32 first (same weights and inputs) and the
  // report gives the heatmap and latent error against it.
  model::Precision precision = model::Precision::fp32;
  // Per-call table: one full U-Net forward at every batch size x precision,
  // the median of call_reps timed calls after a warm-up. Empty: no table.
  std::vector<int> call_batches;
  std::vector<model::Precision> call_precisions;
  int call_reps = 5;
  // On a CUDA device, each entry of the per-call table is also captured as a
  // CUDA graph and replayed (time_cuda_graph_replay, which only programs
  // linked with LibTorch's CUDA part have). Empty: no graph column.
  GraphReplayTimer graph_timer;
};

// One entry of the per-call table.
struct CallTiming {
  model::Precision precision = model::Precision::fp32;
  int batch = 1;
  double seconds = 0;  // median wall seconds of one full forward
  double flops = 0;    // matmul + conv FLOPs of that call (0 if not counted)
  // The same call replayed from a CUDA graph (BenchOptions::graph_timer):
  double graph_seconds = 0;       // median wall seconds of one replay (0: not measured)
  double graph_max_abs_diff = 0;  // max |replay - eager| of the output
  std::string graph_error;        // why it was not measured, when the capture failed
};

// bench/official_pipeline.py run on the same device and T by `ldmground bench
// --authors PYTHON`: its --json output (official_pipeline.py documents the keys).
struct AuthorsRun {
  bool ran = false;
  std::string device;
  std::string torch_version;
  double seconds_per_unet_call = 0;
  double target_seconds_per_pair = 0;  // at BenchOptions::target_T
  double peak_bytes = 0;               // CUDA: max_memory_allocated; CPU: peak RSS
};

// A reduced-precision run against the fp32 one (fast mode, 1 prompt, at T).
struct PrecisionError {
  double heatmap_max_abs = 0;   // min-max normalised averaged heatmap, max |a - b|
  double heatmap_mean_abs = 0;  // its mean |a - b|
  double latent_rel_l2 = 0;     // ||z_b - z_a|| / ||z_a|| of the last inverted latent
  double fp32_seconds = 0;      // the two runs' wall time, back to back in one process
  double seconds = 0;
};

// Kind of a U-Net call: (batch rows, stop_after_attn2 or -1).
using CallKind = std::pair<std::int64_t, int>;

struct BenchRow {
  std::string mode;  // faithful | fast
  int prompts = 1;
  int images = 1;    // > 1: the fast inversion of this many images batched; the seconds below are per batch
  int unet_calls = 0;
  double seconds = 0;          // measured, per image (all prompts)
  double unet_seconds = 0;     // of which in U-Net calls
  int target_unet_calls = 0;   // at target_T (dry run)
  double target_seconds = 0;   // extrapolated, per image
  std::int64_t peak_rss = 0;   // bytes, VmHWM reset before this row (0 if unavailable)
  std::int64_t peak_device = 0;  // bytes, CUDA allocator peak of allocated bytes in this row (0 on CPU)
  double target_cpu_seconds = 0;  // the same from process CPU time per call
  bool derived = false;            // not run: estimated from the kinds an earlier row measured
  std::map<CallKind, std::vector<double>> call_times;      // wall seconds per call, by kind
  std::map<CallKind, std::vector<double>> call_cpu_times;  // process CPU seconds per call, by kind
  double per_pair(double image_seconds) const { return image_seconds / prompts; }
  // "fast", or "fast/8im" for a batch of 8 images.
  std::string label() const;
};

struct BenchResult {
  BenchOptions options;
  int steps_T = 0, steps_target = 0;  // schedule lengths
  std::pair<int, int> window_T, window_target;
  double unet_params = 0;
  double flops_per_call = 0;       // one full batch-2 U-Net forward
  double seconds_per_call = 0;     // its time
  double peak_gflops = 0;          // measured at::mm in the precision under test
  int threads = 0;
  std::vector<BenchRow> rows;
  PrecisionError precision_error;  // set when options.precision is 16-bit
  std::vector<CallTiming> calls;   // the per-call table
  AuthorsRun authors;              // filled by the caller when it ran the Python pipeline

  bool on_cuda() const { return options.device.rfind("cuda", 0) == 0; }
  // Extrapolated seconds per pair at target_T of a 1-prompt, 1-image row (0 if absent).
  double seconds_per_pair(const std::string& mode) const;
  // The table, the FLOP line and the last line: "fast/faithful speedup: X.XXx"
  // (1 prompt, extrapolated per pair) on the CPU, "gpu speedup vs authors:
  // X.XXx" (fast, 1 prompt, per pair at target_T) on CUDA when the authors'
  // pipeline ran.
  std::string report() const;
  // Everything above as JSON, with a schema version and how it was made.
  nlohmann::ordered_json to_json() const;
};

BenchResult run_benchmark(const BenchOptions& options);

// The AuthorsRun of official_pipeline.py's --json output; throws naming the file.
AuthorsRun parse_authors_json(const std::string& json_text, const std::string& what);

// Current and peak resident set size (bytes) from /proc/self/status; 0 if unknown.
std::int64_t current_rss();
std::int64_t peak_rss();
// Resets the peak (Linux clear_refs "5"); false if not supported.
bool reset_peak_rss();

}  // namespace ldmg::pipeline
