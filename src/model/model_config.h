#pragma once
// Model hyper-parameters in the YAML schema of the authors' repository
// (configs/stage1/aekl_v0.yaml: `stage1.params`; configs/ldm/ldm_v0.yaml:
// `ldm.params`, `ldm.scheduler`). Defaults are those of the MONAI Generative
// 0.2.2 constructors (AutoencoderKL, DiffusionModelUNet, DDIMScheduler), which
// the authors' code calls with **params.
#include <cstdint>
#include <string>
#include <vector>

namespace ldmg::model {

// generative/networks/nets/autoencoderkl.py:AutoencoderKL.__init__ (0.2.2).
struct AutoencoderConfig {
  int spatial_dims = 2;  // required in the YAML; only 2 is supported
  int in_channels = 1;
  int out_channels = 1;
  std::vector<int> num_res_blocks = {2, 2, 2, 2};  // an int in YAML is repeated per level
  std::vector<int> num_channels = {32, 64, 64, 64};
  std::vector<bool> attention_levels = {false, false, true, true};
  int latent_channels = 3;
  int norm_num_groups = 32;
  double norm_eps = 1e-6;
  bool with_encoder_nonlocal_attn = true;
  bool with_decoder_nonlocal_attn = true;
  bool use_flash_attention = false;  // accepted, no effect (same math as our attention)
  std::string source;                // file the config came from (for messages)
};

// generative/networks/nets/diffusion_model_unet.py:DiffusionModelUNet.__init__ (0.2.2).
struct UNetConfig {
  int spatial_dims = 2;  // required; only 2 is supported
  int in_channels = 0;   // required
  int out_channels = 0;  // required
  std::vector<int> num_res_blocks = {2, 2, 2, 2};
  std::vector<int> num_channels = {32, 64, 64, 64};
  std::vector<bool> attention_levels = {false, false, true, true};
  int norm_num_groups = 32;
  double norm_eps = 1e-6;
  bool resblock_updown = false;
  std::vector<int> num_head_channels = {8, 8, 8, 8};  // an int in YAML is repeated per level
  bool with_conditioning = false;
  int transformer_num_layers = 1;
  int cross_attention_dim = 0;  // 0 = None
  bool upcast_attention = false;     // float32 everywhere: no effect
  bool use_flash_attention = false;  // accepted, no effect
  std::string source;
};

enum class NoiseSchedule { Linear, ScaledLinear, Sigmoid, Cosine };
enum class PredictionType { Epsilon, Sample, VPrediction };

// The five keys get_models.py:134-141 reads from `ldm.scheduler` (all
// required there), plus clip_sample (the authors pass False).
struct SchedulerConfig {
  NoiseSchedule schedule = NoiseSchedule::Linear;
  int num_train_timesteps = 1000;
  double beta_start = 1e-4;
  double beta_end = 2e-2;
  PredictionType prediction_type = PredictionType::Epsilon;
  bool clip_sample = false;
  std::string source;
};

std::string to_string(NoiseSchedule s);       // "scaled_linear_beta", ...
std::string to_string(PredictionType p);      // "v_prediction", ...

// Read a config file. Throw ldmg::Error naming the file and the key on a
// missing section, an unknown key under params, a wrongly typed value or an
// inconsistent combination (num_channels not divisible by norm_num_groups,
// list lengths that differ, unknown schedule or prediction type, ...).
AutoencoderConfig load_autoencoder_config(const std::string& yaml_path);
UNetConfig load_unet_config(const std::string& yaml_path);
SchedulerConfig load_scheduler_config(const std::string& yaml_path);

// The same from YAML text; `source` names it in error messages.
AutoencoderConfig parse_autoencoder_config(const std::string& yaml_text, const std::string& source);
UNetConfig parse_unet_config(const std::string& yaml_text, const std::string& source);
SchedulerConfig parse_scheduler_config(const std::string& yaml_text, const std::string& source);

// Re-check a config built in code (random_weights, tests); same errors.
void validate(const AutoencoderConfig& c);
void validate(const UNetConfig& c);

}  // namespace ldmg::model
