// `ldmground bench`: faithful vs fast inversion timed on the real-size
// architecture with random weights (runner/benchmark.h), and `--export DIR`,
// the same random model in the published layout for bench/official_pipeline.py.
#include <ATen/core/Tensor.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/options.h"
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
#include "runner/benchmark.h"
#include "text/clip_text_config.h"
#include "text/clip_text_model.h"

namespace ldmg::cli {

namespace {

namespace fs = std::filesystem;

// SD-2.1's text encoder (OpenCLIP ViT-H/14 text tower as a HF CLIPTextModel)
// with the vocabulary size of our BPE tokenizer.
std::string sd21_clip_config_json(std::size_t vocab_size) {
  nlohmann::ordered_json j = {{"architectures", nlohmann::ordered_json::array({"CLIPTextModel"})},
                              {"attention_dropout", 0.0},
                              {"bos_token_id", 0},
                              {"dropout", 0.0},
                              {"eos_token_id", 2},
                              {"hidden_act", "gelu"},
                              {"hidden_size", 1024},
                              {"initializer_factor", 1.0},
                              {"initializer_range", 0.02},
                              {"intermediate_size", 4096},
                              {"layer_norm_eps", 1e-05},
                              {"max_position_embeddings", 77},
                              {"model_type", "clip_text_model"},
                              {"num_attention_heads", 16},
                              {"num_hidden_layers", 23},
                              {"pad_token_id", 1},
                              {"projection_dim", 512},
                              {"torch_dtype", "float32"},
                              {"transformers_version", "4.34.0"},
                              {"vocab_size", vocab_size}};
  return j.dump(2) + "\n";
}

// The real-size random model folder in the published layout (the layout of
// demo/demo_model.h): the authors' configs, autoencoder.pth and
// diffusion_model.pth with the weights `bench` times, an SD-2.1-size text
// encoder and our small BPE tokenizer.
void export_bench_model(const std::string& dir_s, const runner::BenchOptions& o) {
  c10::InferenceMode not_inference(false);
  torch::NoGradGuard no_grad;
  const fs::path dir(dir_s);
  fs::create_directories(dir / "configs/stage1");
  fs::create_directories(dir / "configs/ldm");
  fs::create_directories(dir / "text_encoder");
  const std::string ae_src = o.configs_dir + "/stage1/aekl_v0.yaml", ldm_src = o.configs_dir + "/ldm/ldm_v0.yaml";
  LDMG_CHECK(fs::exists(ae_src) && fs::exists(ldm_src), "bench --export: configs missing under '{}'", o.configs_dir);
  io::write_file_atomic((dir / "configs/stage1/aekl_v0.yaml").string(), io::read_file_bytes(ae_src));
  io::write_file_atomic((dir / "configs/ldm/ldm_v0.yaml").string(), io::read_file_bytes(ldm_src));
  model::RandomWeightOptions rw;
  rw.seed = o.seed;
  auto ae = model::random_autoencoder(model::load_autoencoder_config(ae_src), rw);
  io::write_torch_zip((dir / "autoencoder.pth").string(), model::module_blobs(*ae));
  rw.seed = o.seed + 1;  // = the U-Net `bench` times
  auto unet = model::random_diffusion_unet(model::load_unet_config(ldm_src), rw);
  io::write_torch_zip((dir / "diffusion_model.pth").string(), model::module_blobs(*unet));
  const auto vocab = demo::make_clip_vocab(demo::train_bpe(demo::report_corpus(), 2000));
  demo::write_clip_tokenizer((dir / "tokenizer").string(), vocab);
  const std::string clip_json = sd21_clip_config_json(vocab.size());
  const auto clip_cfg = text::parse_clip_text_config(clip_json, "sd21 config");
  io::write_file_atomic((dir / "text_encoder/config.json").string(), clip_json);
  text::ClipTextModel clip(clip_cfg);
  rw.seed = o.seed + 2;
  model::randomize_parameters(*clip, rw);
  auto blobs = model::module_blobs(*clip);
  blobs.push_back(model::to_blob(text::kClipPositionIdsKey, torch::arange(77, torch::kLong).unsqueeze(0)));
  io::write_safetensors((dir / "text_encoder/model.safetensors").string(), std::move(blobs), {{"format", "pt"}});
  nlohmann::ordered_json notes = {{"made_by", fmt::format("ldmground {} bench --export", version_string())},
                                  {"what", "real-size random weights in the published layout; not a trained model"},
                                  {"seed", o.seed}};
  io::write_file_atomic((dir / "bench_notes.json").string(), notes.dump(1) + "\n");
}

std::vector<int> parse_int_list(const std::string& text, const char* option) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      out.push_back(std::stoi(item));
    } catch (const std::exception&) {
      LDMG_FAIL("--{}: '{}' is not a comma-separated list of integers", option, text);
    }
  }
  LDMG_CHECK(!out.empty(), "--{}: empty list", option);
  return out;
}

}  // namespace

int run_bench(int argc, char** argv) {
  po::options_description desc("bench options");
  add_common_options(desc);
  desc.add_options()
      ("configs", po::value<std::string>()->default_value("../shared/fixtures/configs"),
       "folder with the authors' ldm/ldm_v0.yaml and stage1/aekl_v0.yaml (the real sizes)")
      ("T", po::value<int>()->default_value(30), "inversion steps measured (the window and stop point scale with T)")
      ("target-T", po::value<int>()->default_value(300), "inversion steps extrapolated to")
      ("prompts", po::value<std::string>()->default_value("1,2"), "prompts per image, one row per value per mode")
      ("layers", po::value<std::string>()->default_value("3,4,6,7"), "attn2 layers captured")
      ("modes", po::value<std::string>()->default_value("faithful,fast"), "faithful | fast | faithful,fast")
      ("seed", po::value<std::uint64_t>()->default_value(1), "seed of the random weights and inputs")
      ("no-flops", "skip the FLOP count of a U-Net call")
      ("measure-all", "also run rows whose call kinds an earlier row measured (faithful x2 = 2 x faithful x1)")
      ("peak-n", po::value<int>()->default_value(4096), "size of the sgemm that measures the matmul peak (0 = skip)")
      ("precision", po::value<std::string>()->default_value("fp32"),
       "U-Net arithmetic of the timed rows: fp32 | bf16 | fp16; below fp32 the report adds the heatmap and latent "
       "error of a fast 1-prompt run against fp32 on the same weights")
      ("export", po::value<std::string>(), "write the real-size random model folder here and exit");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground bench [--T 30] [--prompts 1,2] [--export DIR]\n\nTimes the faithful and the "
                     "fast inversion per image-prompt pair on the real-size U-Net (random weights) at a reduced T, "
                     "extrapolates to --target-T from the calls a dry run counts there, and prints peak RSS, U-Net "
                     "calls/s and achieved GFLOP/s against the sgemm peak. Last line: the 1-prompt speedup.",
                     desc, vm))
    return 0;
  apply_common_options(vm);
  runner::BenchOptions o;
  o.configs_dir = vm["configs"].as<std::string>();
  o.T = vm["T"].as<int>();
  o.target_T = vm["target-T"].as<int>();
  o.prompts_per_image = parse_int_list(vm["prompts"].as<std::string>(), "prompts");
  for (int p : o.prompts_per_image) LDMG_CHECK(p >= 1, "--prompts: {} is not >= 1", p);
  o.layers = parse_int_list(vm["layers"].as<std::string>(), "layers");
  const std::string modes = vm["modes"].as<std::string>();
  o.run_faithful = modes.find("faithful") != std::string::npos;
  o.run_fast = modes.find("fast") != std::string::npos;
  LDMG_CHECK(o.run_faithful || o.run_fast, "--modes: expected faithful, fast or both, got '{}'", modes);
  o.seed = vm["seed"].as<std::uint64_t>();
  o.flops = !vm.count("no-flops");
  o.derive_covered_rows = !vm.count("measure-all");
  o.peak_matmul_n = vm["peak-n"].as<int>();
  o.precision = model::parse_precision(vm["precision"].as<std::string>());
  if (vm.count("export")) {
    export_bench_model(vm["export"].as<std::string>(), o);
    std::cout << "wrote " << vm["export"].as<std::string>() << "\n";
    return 0;
  }
  const auto result = runner::run_benchmark(o);
  std::cout << result.report();
  return 0;
}

}  // namespace ldmg::cli
