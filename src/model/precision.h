#pragma once
// The arithmetic of the U-Net: float32 as the authors run it, or a 16-bit
// type for GPUs. Only the U-Net's weights and activations change; the text
// embeddings are computed in float32 and cast, the attention probabilities
// are computed in float32 (attention_probs), and the DDIM inverse step, the
// latents and every heatmap stay float32.
#include <c10/core/ScalarType.h>

#include <string>

namespace ldmg::model {

enum class Precision { fp32, bf16, fp16 };

// "fp32" | "bf16" | "fp16"; throws ldmg::Error naming the value otherwise.
Precision parse_precision(const std::string& text);
std::string to_string(Precision p);
c10::ScalarType scalar_type(Precision p);

}  // namespace ldmg::model
