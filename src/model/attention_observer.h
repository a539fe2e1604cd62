#pragma once
// The U-Net reports cross-attention probabilities through this interface, so
// that capture (online heatmaps, the HDF5 cache) stays outside the model.
#include <ATen/core/Tensor.h>

namespace ldmg::model {

class AttentionObserver {
 public:
  virtual ~AttentionObserver() = default;
  // Does the observer want the probabilities of attn2 layer `layer`
  // (0..n-1 in module order, SPEC §5)? Layers nobody wants may use fused
  // attention that never materialises the probabilities.
  virtual bool wants(int layer) const = 0;
  // probs: softmax(scale * q k^T), [batch*heads, h*w, S] (y-major), float32.
  // Called synchronously inside forward(); copy what you keep.
  virtual void on_attention(int layer, const at::Tensor& probs, std::int64_t heads, std::int64_t h,
                            std::int64_t w) = 0;
};

}  // namespace ldmg::model
