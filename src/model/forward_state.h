#pragma once
// What one DiffusionUNet::forward() call threads through its blocks: who
// observes cross-attention, and where to stop early.
#include "model/attention_observer.h"

namespace ldmg::model {

struct ForwardState {
  AttentionObserver* observer = nullptr;
  // Stop right after the transformer block holding attn2 layer `stop_after_attn2`
  // has run (-1: run the whole U-Net). Blocks check `stopped` after every
  // child and return an undefined tensor once it is set.
  int stop_after_attn2 = -1;
  bool stopped = false;
};

}  // namespace ldmg::model
