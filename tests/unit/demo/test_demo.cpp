// The demo assets (src/demo/): same seed -> same bytes, the model folder
// loads strictly through pipeline::load_models and grounds an image, the
// dataset parses with data::read_ms_cxr and its images decode at the CSV's
// size, and the tokenizer behaves like a CLIP tokenizer on the demo prompts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/sha256.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "data/preprocess.h"
#include "demo/bpe_trainer.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "demo/report_sentences.h"
#include "io/file_bytes.h"
#include "model/diffusion_unet.h"
#include "model/model_config.h"
#include "model/random_weights.h"
#include "pipeline/image_grounder.h"
#include "pipeline/model_bundle.h"
#include "support/fixtures.h"
#include "support/python.h"
#include "text/clip_text_config.h"
#include "text/clip_tokenizer.h"

using namespace ldmg;
namespace fs = std::filesystem;

namespace {

// relative path -> sha256 of every file under dir
std::map<std::string, std::string> tree_hashes(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = sha256_file(e.path().string());
  return out;
}

// One model folder and one dataset shared by the tests of this file.
const fs::path& model_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::path(test::temp_dir("demo_model")) / "models";
    demo::write_demo_model(d);
    return d;
  }();
  return dir;
}

const demo::DemoDataset& dataset() {
  static const demo::DemoDataset ds = demo::write_demo_dataset(fs::path(test::temp_dir("demo_data")) / "data");
  return ds;
}

std::string lower_no_space(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

TEST(DemoModel, SameSeedSameBytesOtherSeedOtherWeights) {
  const fs::path again = fs::path(test::temp_dir("demo_model_again")) / "models";
  demo::write_demo_model(again);
  const auto a = tree_hashes(model_dir()), b = tree_hashes(again);
  EXPECT_EQ(a, b);
  for (const char* f : {"autoencoder.pth", "diffusion_model.pth", "configs/stage1/aekl_v0.yaml", "configs/ldm/ldm_v0.yaml",
                        "text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/vocab.json",
                        "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json"})
    EXPECT_TRUE(a.count(f)) << f;

  demo::DemoModelOptions other;
  other.seed = 2;
  const fs::path third = fs::path(test::temp_dir("demo_model_seed2")) / "models";
  demo::write_demo_model(third, other);
  const auto c = tree_hashes(third);
  EXPECT_NE(a.at("diffusion_model.pth"), c.at("diffusion_model.pth"));
  EXPECT_NE(a.at("text_encoder/model.safetensors"), c.at("text_encoder/model.safetensors"));
  EXPECT_EQ(a.at("tokenizer/vocab.json"), c.at("tokenizer/vocab.json"));  // the tokenizer does not depend on the seed
}

// `bench --export`: the configs copied byte for byte, the U-Net `bench` times
// (seed + 1, plain init) and a text encoder as wide as the U-Net's context.
TEST(DemoModel, BenchModelCopiesConfigsAndHoldsTheBenchUNet) {
  const fs::path configs = model_dir() / "configs";
  const auto o = demo::bench_model_options(configs, 7);
  EXPECT_EQ(o.text_hidden, 32);  // the demo U-Net's cross_attention_dim
  EXPECT_EQ(o.text_layers, 2);
  EXPECT_EQ(o.attn2_qk_scale, 1.0);
  EXPECT_EQ(o.token_embedding_std, 0.0);
  const fs::path dir = fs::path(test::temp_dir("demo_bench_model")) / "models";
  demo::write_demo_model(dir, o);
  for (const char* cfg : {"stage1/aekl_v0.yaml", "ldm/ldm_v0.yaml"})
    EXPECT_EQ(io::read_file_bytes((dir / "configs" / cfg).string()), io::read_file_bytes((configs / cfg).string())) << cfg;

  const std::string ldm = (configs / "ldm/ldm_v0.yaml").string();
  model::RandomWeightOptions rw;
  rw.seed = 8;  // o.seed + 1, as pipeline::run_benchmark builds it
  const auto expected = model::random_diffusion_unet(model::load_unet_config(ldm), rw);
  const auto written = model::load_diffusion_unet(ldm, (dir / "diffusion_model.pth").string());
  const auto want = expected->named_parameters(), got = written->named_parameters();
  ASSERT_EQ(want.size(), got.size());
  for (const auto& p : want) EXPECT_TRUE(torch::equal(p.value(), got[p.key()])) << p.key();

  const auto clip = text::parse_clip_text_config(io::read_file_bytes((dir / "text_encoder/config.json").string()), "bench");
  EXPECT_EQ(clip.hidden_size, 32);

  // The authors' real sizes: SD-2.1's text tower.
  if (test::shared_dir().empty()) GTEST_SKIP() << "shared/fixtures/configs not found: the 1024-wide case is not checked";
  const auto real = demo::bench_model_options(fs::path(test::shared_dir()) / "fixtures/configs", 1);
  EXPECT_EQ(real.text_hidden, 1024);
  EXPECT_EQ(real.text_layers, 23);
  EXPECT_EQ(real.text_heads, 16);
  EXPECT_EQ(real.text_intermediate, 4096);
  EXPECT_EQ(real.text_projection, 512);
}

TEST(DemoDataset, SameSeedSameBytes) {
  const auto& ds = dataset();
  const auto again = demo::write_demo_dataset(fs::path(test::temp_dir("demo_data_again")) / "data");
  EXPECT_EQ(tree_hashes(fs::path(ds.csv).parent_path()), tree_hashes(fs::path(again.csv).parent_path()));
  demo::DemoDatasetOptions other;
  other.seed = 8;
  const auto third = demo::write_demo_dataset(fs::path(test::temp_dir("demo_data_seed8")) / "data", other);
  EXPECT_NE(sha256_file(ds.csv), sha256_file(third.csv));
}

TEST(DemoDataset, ParsesAndImagesDecodeAtCsvSize) {
  const auto& ds = dataset();
  EXPECT_EQ(ds.images, 8);
  EXPECT_GE(ds.pairs, 10);
  data::MsCxrOptions opt;
  opt.images_root = ds.images_root;
  opt.require_images = true;
  opt.strict_bounds = true;
  const auto set = data::read_ms_cxr(ds.csv, opt);
  ASSERT_EQ(static_cast<int>(set.size()), ds.pairs);
  EXPECT_EQ(set.categories().size(), 8u);  // every MS-CXR category appears

  std::set<std::string> paths, sizes;
  std::map<std::string, int> pairs_per_image;
  int multi_box = 0;
  for (const auto& p : set.pairs()) {
    paths.insert(p.path);
    ++pairs_per_image[p.path];
    EXPECT_EQ(p.split, "test");
    EXPECT_EQ(p.path.rfind("files/p10/p10", 0), 0u) << p.path;
    EXPECT_NE(p.csv_width, p.csv_height) << p.path;
    EXPECT_GE(std::min(p.csv_width, p.csv_height), 560);
    EXPECT_LE(std::max(p.csv_width, p.csv_height), 700);
    if (p.boxes.size() > 1) ++multi_box;
    for (const auto& b : p.boxes) {
      EXPECT_GE(b.w, 10) << p.prompt;
      EXPECT_GE(b.h, 10) << p.prompt;
      EXPECT_LT(static_cast<double>(b.w) * b.h, 0.5 * p.csv_width * p.csv_height) << p.prompt;
    }
    const auto img = data::read_image(p.image_path);
    EXPECT_EQ(img.width, p.csv_width);
    EXPECT_EQ(img.height, p.csv_height);
    EXPECT_EQ(img.bit_depth, 8);
    sizes.insert(std::to_string(img.width) + "x" + std::to_string(img.height));
    // Not flat: a chest-like picture has a wide range of gray levels.
    const auto [lo, hi] = std::minmax_element(img.pixels.begin(), img.pixels.end());
    EXPECT_GT(*hi - *lo, 100);
  }
  EXPECT_EQ(paths.size(), 8u);
  EXPECT_GE(sizes.size(), 6u);
  EXPECT_GE(multi_box, 1);  // the merge rule is exercised
  int two_sentences = 0;
  for (const auto& [_, n] : pairs_per_image) two_sentences += n >= 2;
  EXPECT_GE(two_sentences, 2);
}

TEST(DemoTokenizer, LoadsAndTokenizesLikeClip) {
  const auto tok = text::ClipTokenizer::load((model_dir() / "tokenizer").string());
  const auto cfg = text::read_clip_text_config((model_dir() / "text_encoder/config.json").string());
  EXPECT_EQ(static_cast<std::int64_t>(tok.vocab_size()), cfg.vocab_size);
  EXPECT_GT(tok.vocab_size(), 512u + 200u);
  EXPECT_EQ(tok.pad_id(), 0);  // "!", as SD-2.1
  EXPECT_EQ(tok.token_string(tok.bos_id()), "<|startoftext|>");
  EXPECT_EQ(tok.token_string(tok.eos_id()), "<|endoftext|>");

  std::vector<std::string> prompts = demo::report_corpus();
  for (const auto& p : {"Findings: 3 cm nodule (RUL) & 10% collapse?! ~ [x] {y} \"quoted\" a_b\tc\\d", "zzz qqq"})
    prompts.push_back(p);
  for (const auto& p : prompts) {
    const auto ids = tok.encode(p);
    ASSERT_GE(ids.size(), 3u) << p;
    EXPECT_EQ(ids.front(), tok.bos_id()) << p;
    EXPECT_EQ(ids.back(), tok.eos_id()) << p;
    for (std::size_t i = 1; i + 1 < ids.size(); ++i) {
      EXPECT_GE(ids[i], 0) << p;
      EXPECT_LT(ids[i], cfg.vocab_size) << p;
      EXPECT_NE(ids[i], tok.unk_id()) << p << ": token " << i << " unknown";
    }
    const std::vector<std::int64_t> inner(ids.begin() + 1, ids.end() - 1);
    EXPECT_EQ(lower_no_space(tok.decode(inner)), lower_no_space(p)) << p;
  }
  for (const char* word : {"effusion", "pleural", "pneumothorax", "cardiomegaly", "consolidation", "atelectasis",
                           "edema", "opacity", "left", "right", "lower", "lobe"}) {
    const auto t = tok.tokenize(word);
    ASSERT_EQ(t.size(), 1u) << word;
    EXPECT_EQ(t[0], std::string(word) + "</w>");
  }
  EXPECT_EQ(tok.tokenize("Small left pleural effusion.").size(), 5u);
}

// LDMG_DEMO_KEEP=<dir>: copy the assets there for a look (temp dirs vanish at exit).
TEST(DemoAssets, KeepForInspection) {
  const char* keep = std::getenv("LDMG_DEMO_KEEP");
  if (!keep) GTEST_SKIP() << "set LDMG_DEMO_KEEP=<dir> to keep a copy of the demo assets";
  fs::create_directories(keep);
  const auto opts = fs::copy_options::recursive | fs::copy_options::overwrite_existing;
  fs::copy(model_dir(), fs::path(keep) / "models", opts);
  fs::copy(fs::path(dataset().csv).parent_path(), fs::path(keep) / "data", opts);
}

TEST(DemoTokenizer, TrainerIsClipShaped) {
  const auto syms = demo::clip_byte_symbols();
  ASSERT_EQ(syms.size(), 256u);
  EXPECT_EQ(syms[0], "!");
  EXPECT_EQ(syms[188], "\xC4\x80");  // U+0100 stands for byte 0
  EXPECT_EQ(std::set<std::string>(syms.begin(), syms.end()).size(), 256u);
  EXPECT_EQ(demo::pre_tokenize_ascii("It's 12 o'clock..."),
            (std::vector<std::string>{"it", "'s", "1", "2", "o", "'", "clock", "..."}));
  const auto merges = demo::train_bpe({"aaa ab ab"}, 10);
  ASSERT_FALSE(merges.empty());
  EXPECT_EQ(merges[0], (demo::Merge{"a", "b</w>"}));  // count 2 beats ("a","a") 1 and ("a","a</w>") 1
  const auto v = demo::make_clip_vocab(merges);
  EXPECT_EQ(v.tokens.back(), "<|endoftext|>");
  EXPECT_EQ(v.tokens[256], "!</w>");
  EXPECT_EQ(v.tokens[512], "ab</w>");
}

TEST(DemoModel, LoadsStrictlyAndGrounds) {
  pipeline::ModelPaths paths;
  paths.fill_from_dir(model_dir().string());
  EXPECT_EQ(fs::path(paths.unet).filename(), "diffusion_model.pth");
  pipeline::ModelBundle models = pipeline::load_models(paths);
  EXPECT_EQ(models.unet->num_attn2_layers(), 11);

  const auto& ds = dataset();
  const auto set = data::read_ms_cxr(ds.csv, {ds.images_root});
  const auto& pair = set[0];
  const at::Tensor x = data::preprocess_image(data::read_image(pair.image_path));
  pipeline::GroundingOptions opt;
  opt.T = 10;  // T=5 has an empty default window (5//2 - 5//10 .. same)
  opt.mode = diffusion::InversionMode::fast;
  const auto t0 = std::chrono::steady_clock::now();
  const auto g = pipeline::ground_image(models, x, {{pair.prompt, pair.category}, {"Moderate cardiomegaly.", "Cardiomegaly"}},
                                      opt);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(g.prompts.size(), 2u);
  for (const auto& p : g.prompts) {
    const at::Tensor h = p.per_config.at(0).post.final;
    ASSERT_EQ(h.sizes(), (at::IntArrayRef{512, 512}));
    EXPECT_TRUE(torch::isfinite(h).all().item<bool>());
    EXPECT_GT(h.max().item<float>(), 0.5f);
    EXPECT_GT(h.std().item<float>(), 0.0f);
  }
  // Different prompts attend differently.
  EXPECT_FALSE(torch::allclose(g.prompts[0].per_config[0].averaged, g.prompts[1].per_config[0].averaged));
  std::cout << "[demo] ground_image T=10 fast, 2 prompts: " << secs << " s\n";
  if (const char* t = std::getenv("LDMG_DEMO_TIME_T")) {  // e.g. LDMG_DEMO_TIME_T=20 for the sweep estimate
    opt.T = std::atoi(t);
    const auto t1 = std::chrono::steady_clock::now();
    pipeline::ground_image(models, x, {{pair.prompt, pair.category}}, opt);
    std::cout << "[demo] ground_image T=" << opt.T << " fast, 1 prompt: "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() << " s\n";
  }
}

// torch.load of the .pth files, where a Python with torch is at hand.
TEST(DemoModel, TorchLoadsThePthFiles) {
  const std::string py = test::python();
  if (!fs::exists(py) || std::system(("'" + py + "' -c 'import torch' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "no Python with torch at '" << py << "' (set LDMG_PYTHON)";
  const std::string script = test::temp_dir("demo_py") + "/check.py";
  io::write_file_atomic(script,
                        "import sys, torch\n"
                        "d = sys.argv[1]\n"
                        "for name, n in (('autoencoder.pth', 0), ('diffusion_model.pth', 0)):\n"
                        "    sd = torch.load(d + '/' + name, map_location='cpu')\n"
                        "    assert len(sd) > 10, name\n"
                        "    assert all(v.dtype == torch.float32 for v in sd.values()), name\n"
                        "sd = torch.load(d + '/diffusion_model.pth', map_location='cpu')\n"
                        "k = [k for k in sd if k.endswith('attn2.to_q.weight')]\n"
                        "assert len(k) == 11, k\n"
                        "print('ok')\n");
  const auto [rc, out] = test::run_python(script, "'" + model_dir().string() + "'");
  EXPECT_EQ(rc, 0) << out;
}
