#include "pipeline/model_bundle.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/check.h"
#include "core/log.h"
#include "core/sha256.h"

namespace fs = std::filesystem;

namespace ldmg::pipeline {

namespace {
std::string first_existing(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (fs::exists(dir / n)) return (dir / n).string();
  return (dir / *names.begin()).string();  // reported as missing by validate()
}

void require(const std::string& path, const char* what, const char* option, bool directory) {
  LDMG_CHECK(!path.empty(), "no {} given: use --model-dir or {}", what, option);
  const bool ok = directory ? fs::is_directory(path) : fs::is_regular_file(path);
  LDMG_CHECK(ok, "{} not found: '{}' (expected a {}; set it with {} or --model-dir)", what, path,
             directory ? "folder" : "file", option);
}
}  // namespace

void ModelPaths::fill_from_dir(const std::string& dir_text) {
  const fs::path dir(dir_text);
  LDMG_CHECK(fs::is_directory(dir), "--model-dir '{}' is not a folder", dir_text);
  if (autoencoder.empty()) autoencoder = first_existing(dir, {"autoencoder.safetensors", "autoencoder.pth"});
  if (unet.empty()) unet = first_existing(dir, {"diffusion_model.safetensors", "diffusion_model.pth"});
  if (ae_config.empty()) ae_config = (dir / "configs/stage1/aekl_v0.yaml").string();
  if (ldm_config.empty()) ldm_config = (dir / "configs/ldm/ldm_v0.yaml").string();
  if (text_encoder.empty()) text_encoder = (dir / "text_encoder").string();
  if (tokenizer.empty()) tokenizer = (dir / "tokenizer").string();
}

void ModelPaths::validate() const {
  require(autoencoder, "autoencoder weights", "--autoencoder", false);
  require(unet, "U-Net weights", "--unet", false);
  require(ae_config, "autoencoder config", "--ae-config", false);
  require(ldm_config, "LDM config", "--ldm-config", false);
  require(text_encoder, "text encoder folder", "--text-encoder", true);
  require(tokenizer, "tokenizer folder", "--tokenizer", true);
}

void ModelBundle::set_unet_precision(model::Precision precision) {
  if (precision == unet_precision) return;
  LDMG_CHECK(model::scalar_type(unet_precision) == torch::kFloat,
             "the U-Net is already {}; converting it to {} would not restore its weights (load the models again)",
             model::to_string(unet_precision), model::to_string(precision));
  model::set_cuda_math_mode(precision, device.rfind("cuda", 0) == 0);
  unet->to(model::scalar_type(precision));
  unet_precision = precision;
}

std::string resolve_device(const std::string& device) {
  const std::string name = device == "auto" ? (torch::cuda::is_available() ? "cuda:0" : "cpu") : device;
  torch::Device dev(torch::kCPU);
  try {
    dev = torch::Device(name);
  } catch (const std::exception&) {
    LDMG_FAIL("--device: '{}' is not a device (expected auto, cpu, cuda or cuda:N)", device);
  }
  LDMG_CHECK(!dev.is_cuda() || torch::cuda::is_available(),
             "--device {}: this build or machine has no CUDA device (use --device cpu or auto; "
             "`ldmground env` shows what this binary sees)", device);
  LDMG_CHECK(!dev.is_cuda() || !dev.has_index() || dev.index() < static_cast<int>(torch::cuda::device_count()),
             "--device {}: only {} CUDA device(s) visible", device, torch::cuda::device_count());
  return name;
}

ModelBundle load_models(const ModelPaths& paths, const std::string& device, model::Precision precision) {
  paths.validate();
  ModelBundle m;
  m.paths = paths;
  m.device = resolve_device(device);
  const torch::Device dev(m.device);
  // float32 means IEEE float32 on GPUs too: LibTorch lets cuDNN convolutions
  // use TF32 by default, which moves the heatmaps by ~1e-3 (set_unet_precision
  // below changes it only for --precision tf32).
  model::set_cuda_math_mode(model::Precision::fp32, dev.is_cuda());
  log::info("loading models (autoencoder {}, U-Net {}, text encoder {})", paths.autoencoder, paths.unet,
            paths.text_encoder);
  m.autoencoder = model::load_autoencoder(paths.ae_config, paths.autoencoder);
  m.unet = model::load_diffusion_unet(paths.ldm_config, paths.unet);
  m.scheduler = model::load_scheduler_config(paths.ldm_config);
  m.text_encoder = text::load_clip_text_model(paths.text_encoder);
  m.tokenizer = text::ClipTokenizer::load(paths.tokenizer);
  for (torch::nn::Module* mod : {static_cast<torch::nn::Module*>(m.autoencoder.get()),
                                 static_cast<torch::nn::Module*>(m.unet.get()),
                                 static_cast<torch::nn::Module*>(m.text_encoder.get())}) {
    mod->eval();
    mod->to(dev);
  }
  m.set_unet_precision(precision);
  m.file_hashes["autoencoder"] = sha256_file(paths.autoencoder);
  m.file_hashes["unet"] = sha256_file(paths.unet);
  m.file_hashes["ae_config"] = sha256_file(paths.ae_config);
  m.file_hashes["ldm_config"] = sha256_file(paths.ldm_config);
  for (const char* f : {"config.json", "model.safetensors", "pytorch_model.bin"})
    if (fs::exists(fs::path(paths.text_encoder) / f))
      m.file_hashes[std::string("text_encoder/") + f] = sha256_file((fs::path(paths.text_encoder) / f).string());
  for (const char* f : {"vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"})
    if (fs::exists(fs::path(paths.tokenizer) / f))
      m.file_hashes[std::string("tokenizer/") + f] = sha256_file((fs::path(paths.tokenizer) / f).string());
  return m;
}

std::string models_digest(const ModelBundle& models) {
  Sha256 h;
  for (const auto& [role, hex] : models.file_hashes) h.update(role + "=" + hex + "\n");
  return h.hex_digest();
}

}  // namespace ldmg::pipeline
