#pragma once

namespace ldmg {
// Cores this process may use (sched affinity), at least 1.
int available_cores();
// Sets LibTorch's intra-op thread count; 0 means available_cores().
// (LibTorch otherwise runs single-threaded in some builds.)
void set_compute_threads(int threads);
}  // namespace ldmg
