#include "demo/demo_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/check.h"
#include "core/version.h"
#include "demo/bpe_trainer.h"
#include "demo/report_sentences.h"
#include "io/file_bytes.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"
#include "model/model_config.h"
#include "model/random_weights.h"
#include "model/state_dict.h"
#include "text/clip_text_config.h"
#include "text/clip_text_model.h"

namespace ldmg::demo {

namespace {

namespace fs = std::filesystem;

std::string yaml_list(const std::vector<int>& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

// The schema of the authors' configs/stage1/aekl_v0.yaml (model/model_config.h).
std::string ae_yaml(const DemoModelOptions& o) {
  return fmt::format(
      "stage1:\n"
      "  base_lr: 5.0e-05\n"
      "  disc_lr: 0.0001\n"
      "  perceptual_weight: 0.002\n"
      "  adv_weight: 0.005\n"
      "  kl_weight: 1.0e-08\n"
      "  params:\n"
      "    spatial_dims: 2\n"
      "    in_channels: 1\n"
      "    out_channels: 1\n"
      "    num_channels: {}\n"
      "    latent_channels: 3\n"
      "    num_res_blocks: 2\n"
      "    attention_levels: [{}]\n"
      "    norm_num_groups: {}\n"
      "    norm_eps: 1.0e-06\n"
      "    with_encoder_nonlocal_attn: false\n"
      "    with_decoder_nonlocal_attn: false\n",
      yaml_list(o.ae_channels), fmt::join(std::vector<std::string>(o.ae_channels.size(), "false"), ", "),
      o.ae_norm_groups);
}

// configs/ldm/ldm_v0.yaml: U-Net params and the scheduler of the real model.
std::string ldm_yaml(const DemoModelOptions& o) {
  LDMG_CHECK(o.unet_channels.size() == 3, "demo U-Net needs 3 levels (11 attn2 layers), got {}", o.unet_channels.size());
  return fmt::format(
      "ldm:\n"
      "  base_lr: 2.5e-05\n"
      "  params:\n"
      "    spatial_dims: 2\n"
      "    in_channels: 3\n"
      "    out_channels: 3\n"
      "    num_res_blocks: 2\n"
      "    num_channels: {}\n"
      "    attention_levels: [false, true, true]\n"
      "    norm_num_groups: {}\n"
      "    norm_eps: 1.0e-06\n"
      "    with_conditioning: true\n"
      "    cross_attention_dim: {}\n"
      "    num_head_channels: [0, {}, {}]\n"
      "  scheduler:\n"
      "    schedule: scaled_linear_beta\n"
      "    num_train_timesteps: 1000\n"
      "    beta_start: 0.0015\n"
      "    beta_end: 0.0205\n"
      "    prediction_type: v_prediction\n",
      yaml_list(o.unet_channels), o.unet_norm_groups, o.text_hidden, o.unet_channels[1], o.unet_channels[2]);
}

// HF config.json of a CLIPTextModel (SD-2.1's keys, small sizes).
std::string clip_config_json(const DemoModelOptions& o, std::size_t vocab_size) {
  nlohmann::ordered_json j = {{"architectures", nlohmann::ordered_json::array({"CLIPTextModel"})},
                              {"attention_dropout", 0.0},
                              {"bos_token_id", 0},
                              {"dropout", 0.0},
                              {"eos_token_id", 2},
                              {"hidden_act", "gelu"},
                              {"hidden_size", o.text_hidden},
                              {"initializer_factor", 1.0},
                              {"initializer_range", 0.02},
                              {"intermediate_size", o.text_intermediate > 0 ? o.text_intermediate : 4 * o.text_hidden},
                              {"layer_norm_eps", 1e-05},
                              {"max_position_embeddings", 77},
                              {"model_type", "clip_text_model"},
                              {"num_attention_heads", o.text_heads},
                              {"num_hidden_layers", o.text_layers},
                              {"pad_token_id", 1},
                              {"projection_dim", o.text_projection > 0 ? o.text_projection : o.text_hidden},
                              {"torch_dtype", "float32"},
                              {"transformers_version", "4.34.0"},
                              {"vocab_size", vocab_size}};
  return j.dump(2) + "\n";
}

std::int64_t parameter_count(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

DemoModelOptions bench_model_options(const fs::path& configs_dir, std::uint64_t seed) {
  DemoModelOptions o;
  o.seed = seed;
  o.configs_dir = configs_dir;
  o.attn2_qk_scale = 1.0;
  o.token_embedding_std = 0.0;
  const auto unet_cfg = model::load_unet_config((configs_dir / "ldm/ldm_v0.yaml").string());
  o.text_hidden = static_cast<int>(unet_cfg.cross_attention_dim);
  if (o.text_hidden == 1024) {  // SD-2.1's text encoder (OpenCLIP ViT-H/14 text tower as a HF CLIPTextModel)
    o.text_layers = 23;
    o.text_heads = 16;
    o.text_intermediate = 4096;
    o.text_projection = 512;
  }
  return o;
}

void write_demo_model(const fs::path& dir, const DemoModelOptions& o) {
  c10::InferenceMode not_inference(false);
  torch::NoGradGuard no_grad;
  fs::create_directories(dir / "configs" / "stage1");
  fs::create_directories(dir / "configs" / "ldm");
  fs::create_directories(dir / "text_encoder");

  // Configs first, then the models built from what was written, so the
  // weights match the YAML by construction.
  const fs::path ae_cfg_path = dir / "configs/stage1/aekl_v0.yaml";
  const fs::path ldm_cfg_path = dir / "configs/ldm/ldm_v0.yaml";
  std::string ae_text, ldm_text;
  if (o.configs_dir.empty()) {
    ae_text = ae_yaml(o);
    ldm_text = ldm_yaml(o);
  } else {
    const fs::path ae_src = o.configs_dir / "stage1/aekl_v0.yaml", ldm_src = o.configs_dir / "ldm/ldm_v0.yaml";
    LDMG_CHECK(fs::exists(ae_src) && fs::exists(ldm_src), "model configs missing: expected {} and {}", ae_src.string(),
               ldm_src.string());
    ae_text = io::read_file_bytes(ae_src.string());
    ldm_text = io::read_file_bytes(ldm_src.string());
  }
  const auto ae_cfg = model::parse_autoencoder_config(ae_text, ae_cfg_path.string());
  const auto unet_cfg = model::parse_unet_config(ldm_text, ldm_cfg_path.string());
  io::write_file_atomic(ae_cfg_path.string(), ae_text);
  io::write_file_atomic(ldm_cfg_path.string(), ldm_text);

  model::RandomWeightOptions rw;
  rw.seed = o.seed;
  rw.attn2_qk_scale = o.attn2_qk_scale;
  auto ae = model::random_autoencoder(ae_cfg, rw);
  io::write_torch_zip((dir / "autoencoder.pth").string(), model::module_blobs(*ae));
  rw.seed = o.seed + 1;
  auto unet = model::random_diffusion_unet(unet_cfg, rw);
  io::write_torch_zip((dir / "diffusion_model.pth").string(), model::module_blobs(*unet));

  // Tokenizer: BPE over the report sentences; its size fixes the text encoder's vocab.
  const BpeVocab vocab = make_clip_vocab(train_bpe(report_corpus(), o.max_merges));
  write_clip_tokenizer((dir / "tokenizer").string(), vocab);

  const std::string clip_json = clip_config_json(o, vocab.size());
  const fs::path clip_cfg_path = dir / "text_encoder/config.json";
  const auto clip_cfg = text::parse_clip_text_config(clip_json, clip_cfg_path.string());
  io::write_file_atomic(clip_cfg_path.string(), clip_json);
  text::ClipTextModel clip(clip_cfg);
  model::RandomWeightOptions rt;
  rt.seed = o.seed + 2;
  model::randomize_parameters(*clip, rt);
  // Token embeddings N(0, 1), as the fixtures: prompts then differ clearly.
  if (o.token_embedding_std > 0) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed + 3);
    for (auto& p : clip->named_parameters())
      if (p.key() == "text_model.embeddings.token_embedding.weight") p.value().normal_(0.0, o.token_embedding_std, gen);
  }
  auto blobs = model::module_blobs(*clip);
  // SD-2.1's checkpoint (pre-4.31 transformers) also carries this buffer.
  blobs.push_back(model::to_blob(text::kClipPositionIdsKey, torch::arange(77, torch::kLong).unsqueeze(0)));
  io::write_safetensors((dir / "text_encoder/model.safetensors").string(), std::move(blobs), {{"format", "pt"}});

  nlohmann::ordered_json notes = {
      {"made_by", fmt::format("ldmground {} demo::write_demo_model", version_string())},
      {"what", "random weights in the published formats; not a trained model"},
      {"seed", o.seed},
      {"attn2_qk_scale", o.attn2_qk_scale},
      {"token_embedding_std", o.token_embedding_std},
      {"tokenizer", {{"merges", vocab.merges.size()}, {"vocab_size", vocab.size()}}},
      {"param_counts",
       {{"autoencoder", parameter_count(*ae)}, {"diffusion_model", parameter_count(*unet)},
        {"text_encoder", parameter_count(*clip)}}}};
  if (!o.configs_dir.empty()) notes["configs_from"] = o.configs_dir.string();
  io::write_file_atomic((dir / "demo_notes.json").string(), notes.dump(1) + "\n");
}

}  // namespace ldmg::demo
