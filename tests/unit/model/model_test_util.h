#pragma once
// Shared helpers of the model tests: an attention recorder, golden access.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "model/attention_observer.h"
#include "model/state_dict.h"

namespace ldmg::test {

class AttentionRecorder : public model::AttentionObserver {
 public:
  bool all = false;
  std::set<int> want;
  struct Call {
    at::Tensor probs;
    std::int64_t heads = 0, h = 0, w = 0;
  };
  std::map<int, Call> calls;
  std::vector<int> order;

  bool wants(int layer) const override { return all || want.count(layer) > 0; }
  void on_attention(int layer, const at::Tensor& probs, std::int64_t heads, std::int64_t h,
                    std::int64_t w) override {
    calls[layer] = {probs.clone(), heads, h, w};
    order.push_back(layer);
  }
};

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

inline const at::Tensor& golden(const model::StateDict& sd, const std::string& key) {
  auto it = sd.find(key);
  if (it == sd.end()) throw std::runtime_error("golden tensor '" + key + "' not found");
  return it->second;
}

}  // namespace ldmg::test
