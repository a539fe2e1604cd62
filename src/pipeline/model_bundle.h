#pragma once
// The frozen model stack of one run: autoencoder, U-Net, CLIP text encoder,
// tokenizer, noise schedule; where each came from and its SHA-256.
#include <map>
#include <string>

#include "model/autoencoder_kl.h"
#include "model/diffusion_unet.h"
#include "model/model_config.h"
#include "model/precision.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"

namespace ldmg::pipeline {

struct ModelPaths {
  std::string autoencoder;    // autoencoder.pth | .safetensors
  std::string unet;           // diffusion_model.pth | .safetensors
  std::string ae_config;      // configs/stage1/aekl_v0.yaml
  std::string ldm_config;     // configs/ldm/ldm_v0.yaml (U-Net params + scheduler)
  std::string text_encoder;   // folder: config.json + model.safetensors | pytorch_model.bin
  std::string tokenizer;      // folder: vocab.json, merges.txt, special_tokens_map.json, ...

  // Fills every empty path from a model folder laid out like
  // fixtures/parity/models/ (.safetensors preferred over .pth when both exist).
  void fill_from_dir(const std::string& dir);
  // Throws naming each missing file (and the option that sets it).
  void validate() const;
};

struct ModelBundle {
  ModelPaths paths;
  model::AutoencoderKL autoencoder{nullptr};
  model::DiffusionUNet unet{nullptr};
  text::ClipTextModel text_encoder{nullptr};
  text::ClipTokenizer tokenizer;
  model::SchedulerConfig scheduler;
  std::map<std::string, std::string> file_hashes;  // role -> sha256 hex
  std::string device = "cpu";
  model::Precision unet_precision = model::Precision::fp32;  // the U-Net's weights and activations

  // Converts the U-Net (weights and the activations of later calls) to
  // `precision`. Only down from fp32: going back up would not restore the
  // weights' lost bits, so it throws (load the models again instead).
  void set_unet_precision(model::Precision precision);
};

// "auto" -> "cuda:0" when LibTorch sees a CUDA device, else "cpu"; "cpu",
// "cuda" and "cuda:N" are checked (the CUDA device must exist) and returned
// as given. Throws ldmg::Error naming the value otherwise.
std::string resolve_device(const std::string& device);

// Loads and checks everything (strict weight loading), moves it to `device`
// (resolve_device).
// `precision`: the U-Net's arithmetic (set_unet_precision), fp32 by default.
ModelBundle load_models(const ModelPaths& paths, const std::string& device = "cpu",
                        model::Precision precision = model::Precision::fp32);

// A stable digest of the model files (for work-unit names and provenance).
std::string models_digest(const ModelBundle& models);

}  // namespace ldmg::pipeline
