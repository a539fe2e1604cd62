#pragma once
// The arithmetic of the U-Net: float32 as the authors run it, or a 16-bit
// type for GPUs. Only the U-Net's weights and activations change; the text
// embeddings are computed in float32 and cast, the attention probabilities
// are computed in float32 (attention_probs), and the DDIM inverse step, the
// latents and every heatmap stay float32.
// tf32: float32 weights and activations, with CUDA's TF32 tensor-core math
// allowed in matmuls (cuBLAS) and convolutions (cuDNN); on the CPU it is fp32.
#include <c10/core/ScalarType.h>

#include <string>

namespace ldmg::model {

enum class Precision { fp32, bf16, fp16, tf32 };

// "fp32" | "bf16" | "fp16" | "tf32"; throws ldmg::Error naming the value otherwise.
Precision parse_precision(const std::string& text);
std::string to_string(Precision p);
// The weights' dtype: float32 for fp32 and tf32.
c10::ScalarType scalar_type(Precision p);

// Process-wide math mode for `p` on a CUDA device: tf32 allows TF32 in cuBLAS
// matmuls and cuDNN convolutions; every other precision forbids it, so that
// float32 is IEEE float32 on GPUs too (LibTorch's default lets cuDNN use
// TF32, and so did the authors' PyTorch). Off the GPU (on_cuda false) TF32
// stays forbidden: the cuBLAS flag is LibTorch's global float32 matmul
// precision, and "high" made our CPU U-Net calls 3-28x slower here.
// (LibTorch's legacy allow_tf32 setters: mixing them with the newer
// fp32_precision API is an error in LibTorch.)
void set_cuda_math_mode(Precision p, bool on_cuda);

}  // namespace ldmg::model
