// The one list of ldmground's subcommands.
#include "cli/command.h"

namespace ldmg::cli {

int run_inspect(int argc, char** argv);
int run_evaluate(int argc, char** argv);
int run_ground(int argc, char** argv);
int run_parity(int argc, char** argv);
int run_sweep(int argc, char** argv);
int run_status(int argc, char** argv);
int run_unlock(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_analyze(int argc, char** argv);
int run_search(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_env(int argc, char** argv);
int run_score(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_report(int argc, char** argv);

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"demo", "write a tiny random model + synthetic data and run a 2-rank sweep on them (start here)", run_demo},
      {"ground", "ground report sentence(s) in one X-ray: heatmaps, overlay PNG, metrics with --box", run_ground},
      {"evaluate", "ground every MS-CXR pair and score it (pairs.csv, Table I summary)", run_evaluate},
      {"sweep", "run the pairs x T x config grid on MPI ranks with the attention cache; resumable", run_sweep},
      {"status", "units done / failed / pending of a sweep's run folder, per rank, rate and ETA", run_status},
      {"unlock", "break the run lock left by a sweep on a lost host (node failure), to resume elsewhere", run_unlock},
      {"analyze", "recompute heatmaps + metrics of a finished sweep from its attention cache (config or grid, tables)", run_analyze},
      {"report", "a run (and analyze / search / score outputs) as a static site: tables, overlays, provenance", run_report},
      {"score", "score another method's heatmaps or boxes under evaluate's protocol (pairs.csv, Table I summary)", run_score},
      {"compare", "several runs' or scorings' summaries side by side in Table I layout (one column group per method)", run_compare},
      {"search", "per-pathology best heatmap config by K-fold cross-validation on a sweep's cache", run_search},
      {"parity", "check the pipeline against the authors' goldens on the parity fixtures", run_parity},
      {"bench", "time faithful vs fast inversion on the real-size U-Net (random weights), extrapolated to T=300", run_bench},
      {"inspect", "list the tensors of a weights file (.safetensors, .pth, .bin)", run_inspect},
      {"env", "the build and machine as ldmground sees them: LibTorch, CUDA, NCCL, MPI, devices, threads", run_env},
  };
  return list;
}

}  // namespace ldmg::cli
