#include "cli/pipeline_options.h"

#include "core/check.h"
#include "core/log.h"

namespace ldmg::cli {

void add_model_options(po::options_description& desc) {
  po::options_description m("model files (--model-dir fills whatever is not given on its own)");
  m.add_options()
      ("model-dir", po::value<std::string>(), "folder laid out like fixtures/parity/models/: autoencoder.{safetensors,pth}, "
       "diffusion_model.{safetensors,pth}, configs/stage1/aekl_v0.yaml, configs/ldm/ldm_v0.yaml, text_encoder/, tokenizer/")
      ("autoencoder", po::value<std::string>(), "AutoencoderKL weights (.pth or .safetensors)")
      ("unet", po::value<std::string>(), "DiffusionModelUNet weights (.pth or .safetensors)")
      ("ae-config", po::value<std::string>(), "autoencoder YAML (stage1 schema)")
      ("ldm-config", po::value<std::string>(), "U-Net + scheduler YAML (ldm schema)")
      ("text-encoder", po::value<std::string>(), "HF CLIPTextModel folder (config.json + weights)")
      ("tokenizer", po::value<std::string>(), "HF CLIP tokenizer folder (vocab.json, merges.txt, ...)")
      ("device", po::value<std::string>()->default_value("auto"),
       "auto (a GPU if there is one; in a sweep, GPU <local rank mod GPUs per node>) | cpu | cuda | cuda:N")
      ("precision", po::value<std::string>()->default_value("fp32"),
       "U-Net arithmetic: fp32 (the authors') | bf16 | fp16 | tf32 (for GPUs; tf32 = float32 with TF32 CUDA matmuls and convolutions; the attention probabilities, the "
       "inversion and the heatmaps stay float32; `ldmground bench --precision` reports the error against fp32)");
  desc.add(m);
}

pipeline::ModelPaths model_paths_from(const po::variables_map& vm) {
  pipeline::ModelPaths p;
  auto get = [&](const char* k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  p.autoencoder = get("autoencoder");
  p.unet = get("unet");
  p.ae_config = get("ae-config");
  p.ldm_config = get("ldm-config");
  p.text_encoder = get("text-encoder");
  p.tokenizer = get("tokenizer");
  if (vm.count("model-dir")) p.fill_from_dir(vm["model-dir"].as<std::string>());
  p.validate();
  return p;
}

model::Precision precision_from(const po::variables_map& vm) {
  return model::parse_precision(vm["precision"].as<std::string>());
}

void add_grounding_options(po::options_description& desc, bool several_T) {
  po::options_description g("grounding (defaults: the paper's best setup, with the numbers the authors' code computes)");
  if (several_T)
    g.add_options()("steps,T", po::value<std::vector<int>>()->composing()->default_value({300}, "300"),
                    "number of DDIM inversion steps T; repeat for a grid (--steps 100 --steps 300)");
  else
    g.add_options()("steps,T", po::value<int>()->default_value(300), "number of DDIM inversion steps T");
  g.add_options()
      ("spacing", po::value<std::string>()->default_value("trailing"),
       "trailing: the authors' patch (T=300 runs 334 steps) | exact: exactly T steps")
      ("stepper", po::value<std::string>()->default_value("new"),
       "new: the authors' reversed_step_new (DDIM inverse step) | library: MONAI Generative 0.2.2 reversed_step")
      ("mode", po::value<std::string>()->default_value("fast"),
       "fast: one unconditional chain per image, all prompts batched only at captured steps and stopped after "
       "the last captured layer (the same maps, 3-5x faster) | faithful: the authors' loop, an uncond/cond "
       "batch of 2 at every step, per prompt")
      ("layers", po::value<std::string>()->default_value("3,4,6,7"), "attn2 layers (0-based, module order) or 'all'")
      ("window", po::value<std::string>()->default_value("paper"),
       "inversion steps A:B (half-open) or 'paper' = T//2-10*T//100 : T//2+10*T//100")
      ("tokens", po::value<std::string>()->default_value("all"),
       "all (BOS/EOS/padding excluded) | pathology (Table III: sub-tokens of the category name) | i:j")
      ("otsu", po::value<std::string>()->default_value("on"), "binary Otsu masking: on | off")
      ("sigma", po::value<double>()->default_value(2.5), "Gaussian blur sigma in 512-pixel units (0 = none)")
      ("order", po::value<std::string>()->default_value("code"),
       "code: token mean then min-max (the authors' code) | paper: per-token min-max then mean (Eq. 2)")
      ("config", po::value<std::vector<std::string>>()->composing(),
       "extra heatmap config(s) evaluated on the same inversion, e.g. 'layers=all;window=0:20;otsu=off' "
       "(keys: layers, window, tokens, otsu, sigma, order)");
  desc.add(g);
}

pipeline::GroundingOptions grounding_options_from(const po::variables_map& vm) {
  pipeline::GroundingOptions o;
  o.T = steps_from(vm).front();
  const auto spacing = vm["spacing"].as<std::string>();
  LDMG_CHECK(spacing == "trailing" || spacing == "exact", "--spacing: expected trailing or exact, got '{}'", spacing);
  o.spacing = spacing == "trailing" ? diffusion::Spacing::TrailingUpstream : diffusion::Spacing::TrailingExact;
  const auto stepper = vm["stepper"].as<std::string>();
  LDMG_CHECK(stepper == "new" || stepper == "library", "--stepper: expected new or library, got '{}'", stepper);
  o.stepper = stepper == "new" ? diffusion::Stepper::New : diffusion::Stepper::Library;
  const auto mode = vm["mode"].as<std::string>();
  LDMG_CHECK(mode == "faithful" || mode == "fast", "--mode: expected faithful or fast, got '{}'", mode);
  o.mode = mode == "faithful" ? diffusion::InversionMode::faithful : diffusion::InversionMode::fast;
  o.configs = {pipeline::make_heatmap_config(vm["layers"].as<std::string>(), vm["window"].as<std::string>(),
                                           vm["tokens"].as<std::string>(), vm["otsu"].as<std::string>(),
                                           vm["sigma"].as<double>(), vm["order"].as<std::string>())};
  if (vm.count("config"))
    for (const auto& spec : vm["config"].as<std::vector<std::string>>()) o.configs.push_back(pipeline::parse_heatmap_spec(spec));
  return o;
}

void add_batch_option(po::options_description& desc) {
  desc.add_options()("batch-images", po::value<std::string>()->default_value("auto"),
                     fmt::format("images inverted together in one U-Net batch (--mode fast; faithful runs one at a "
                                 "time): N | auto = 1 on a CPU, {} on CUDA. Each image keeps its own outputs; the "
                                 "numbers equal one at a time within float32 batch rounding, not bit for bit",
                                 kGpuBatchImages)
                         .c_str());
}

int batch_images_option(const po::variables_map& vm) {
  const std::string v = vm["batch-images"].as<std::string>();
  if (v == "auto") return 0;
  int n = 0;
  std::size_t used = 0;
  try {
    n = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LDMG_CHECK(used == v.size() && n >= 1 && n <= 1024, "--batch-images: expected auto or 1..1024, got '{}'", v);
  return n;
}

int resolve_batch_images(int requested, const std::string& device, diffusion::InversionMode mode) {
  int n = requested > 0 ? requested : device.rfind("cuda", 0) == 0 ? kGpuBatchImages : 1;
  if (mode == diffusion::InversionMode::faithful && n > 1) {
    if (requested > 0) log::info("--batch-images {}: faithful mode runs one image at a time", n);
    n = 1;
  }
  return n;
}

void add_dicom_conversion_option(po::options_description& desc) {
  desc.add_options()("dicom-conversion", po::value<std::string>()->default_value("mimic_jpg"),
                     "how DICOM images become 8 bits: mimic_jpg = what MIMIC-CXR-JPG did to make the JPEGs the model "
                     "was trained on (raw stored values min-max to 0..255, truncated; MONOCHROME1 inverted; histogram "
                     "equalised) | window = the file's Modality LUT and first VOI window (as a DICOM viewer shows it; "
                     "min-max without a window). PNG and JPEG images ignore it. docs/images.md");
}

data::DicomConversion dicom_conversion_from(const po::variables_map& vm) {
  return data::parse_dicom_conversion(vm["dicom-conversion"].as<std::string>(), "--dicom-conversion");
}

std::vector<int> steps_from(const po::variables_map& vm) {
  const auto& v = vm["steps"];
  std::vector<int> Ts = v.value().type() == typeid(int) ? std::vector<int>{v.as<int>()} : v.as<std::vector<int>>();
  LDMG_CHECK(!Ts.empty(), "--steps: no value");
  for (std::size_t i = 0; i < Ts.size(); ++i) {
    LDMG_CHECK(Ts[i] >= 1 && Ts[i] <= 1000, "--steps must be in 1..1000, got {}", Ts[i]);
    for (std::size_t j = 0; j < i; ++j) LDMG_CHECK(Ts[j] != Ts[i], "--steps {} is given twice", Ts[i]);
  }
  return Ts;
}

nlohmann::json options_json(const po::variables_map& vm) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : vm) {
    const auto& any = v.value();
    if (any.type() == typeid(std::string)) j[k] = v.as<std::string>();
    else if (any.type() == typeid(int)) j[k] = v.as<int>();
    else if (any.type() == typeid(double)) j[k] = v.as<double>();
    else if (any.type() == typeid(bool)) j[k] = v.as<bool>();
    else if (any.type() == typeid(std::vector<std::string>)) j[k] = v.as<std::vector<std::string>>();
    else if (any.type() == typeid(std::vector<int>)) j[k] = v.as<std::vector<int>>();
    else if (any.type() == typeid(std::uint64_t)) j[k] = v.as<std::uint64_t>();
  }
  j.erase("help");
  return j;
}

}  // namespace ldmg::cli
