#pragma once
// A tiny random-weight model stack for `ldmground demo`, written in the
// formats the real models are published in and laid out like
// fixtures/parity/models/ (pipeline::ModelPaths::fill_from_dir):
//   autoencoder.pth, diffusion_model.pth          torch.save zips (MONAI Generative key names)
//   configs/stage1/aekl_v0.yaml, configs/ldm/ldm_v0.yaml
//   text_encoder/config.json, model.safetensors   HF CLIPTextModel
//   tokenizer/vocab.json, merges.txt, special_tokens_map.json, tokenizer_config.json
//   demo_notes.json                               how it was made (and the options)
// The topology is the real one (U-Net attention at levels 2-3, 11 attn2
// layers, so the paper's layers 3,4,6,7 exist; 1 head per layer) with small
// widths; the tokenizer is our own byte-level BPE learned from the demo's
// report sentences (demo/bpe_trainer.h), so its vocabulary is small.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace ldmg::demo {

struct DemoModelOptions {
  std::uint64_t seed = 1;
  // Non-empty: copy the authors' stage1/aekl_v0.yaml and ldm/ldm_v0.yaml from
  // this folder (the real sizes) instead of writing the small ones; the U-Net
  // and autoencoder widths below are then unused.
  std::filesystem::path configs_dir;
  std::vector<int> unet_channels = {32, 48, 64};  // num_channels; num_head_channels = {0, c1, c2}
  int unet_norm_groups = 16;
  std::vector<int> ae_channels = {8, 16, 16, 16};
  int ae_norm_groups = 4;
  int text_hidden = 32;         // CLIP hidden = U-Net cross_attention_dim
  int text_layers = 2;
  int text_heads = 2;
  int text_intermediate = 0;    // 0: 4 x text_hidden
  int text_projection = 0;      // projection_dim; 0: text_hidden
  double attn2_qk_scale = 3.0;  // peaky cross-attention, as the parity fixtures
  double token_embedding_std = 1.0;  // token embeddings N(0, std), as the fixtures; 0: the plain init
  int max_merges = 2000;        // BPE merges (training stops earlier when every word is one token)
};

// The model `ldmground bench --export` writes: the configs of `configs_dir`
// (the authors' real sizes for the bench), plain random init (the U-Net is the
// one `bench` times: seed + 1, attn2 unscaled) and a text encoder whose width
// is the U-Net's cross_attention_dim: SD-2.1's text tower (23 layers, 16
// heads, 4096, projection 512) when that is 1024, else the small one above.
DemoModelOptions bench_model_options(const std::filesystem::path& configs_dir, std::uint64_t seed);

// Writes the model folder (created if needed; existing files are replaced).
// Same options -> identical bytes.
void write_demo_model(const std::filesystem::path& dir, const DemoModelOptions& options = {});

}  // namespace ldmg::demo
