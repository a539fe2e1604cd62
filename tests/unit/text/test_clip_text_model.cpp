// CLIP text encoder: goldens of the authors' run (prompt_embeds within 1e-4
// with both checkpoint formats), strict loading of a random model written by
// our own code, config errors, and the causal-mask property.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "io/file_bytes.h"
#include "io/safetensors.h"
#include "model/state_dict.h"
#include "support/fixtures.h"
#include "text/clip_text_model.h"
#include "text/prompt_embeds.h"

namespace ldmg::text {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ldmg::Error& e) {
    return e.what();
  }
  return "";
}

// prompt_embeds of every sample file vs encode_prompts(tok, model, {"", prompt}).
double max_golden_embedding_error(const std::string& weights) {
  const std::string parity = test::parity_dir();
  auto tok = ClipTokenizer::load(parity + "/models/tokenizer");
  auto model = load_clip_text_model(parity + "/models/text_encoder", weights);
  double worst = 0;
  int files = 0;
  for (const char* set : {"T20", "T50", "T20_libstep"}) {
    const fs::path root = fs::path(parity) / "golden" / set;
    std::ifstream in(root / "metrics.json");
    auto metrics = nlohmann::json::parse(in);
    for (const auto& e : metrics["per_sample"]) {
      if (!e.contains("file") || e["file"].is_null()) continue;
      const auto sd = model::load_state_dict((root / e["file"].get<std::string>()).string());
      const auto& want = sd.at("prompt_embeds");
      EXPECT_EQ(want.sizes(), (std::vector<std::int64_t>{2, 77, 32}));
      auto got = encode_prompts(tok, model, {"", e["prompt"].get<std::string>()});
      if (got.sizes() != want.sizes()) {
        ADD_FAILURE() << set << "/" << e["file"] << ": shape " << got.sizes();
        continue;
      }
      const double err = (got - want).abs().max().item<double>();
      EXPECT_LE(err, 1e-4) << set << "/" << e["file"];
      worst = std::max(worst, err);
      ++files;
    }
  }
  EXPECT_EQ(files, 33);
  return worst;
}

TEST(ClipTextModel, GoldenEmbeddingsSafetensors) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const double err = max_golden_embedding_error("model.safetensors");
  std::cout << "[ metric ] prompt_embeds max abs error (model.safetensors): " << err << "\n";
  RecordProperty("max_abs_error", std::to_string(err));
}

TEST(ClipTextModel, GoldenEmbeddingsPytorchBin) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const double err = max_golden_embedding_error("pytorch_model.bin");
  std::cout << "[ metric ] prompt_embeds max abs error (pytorch_model.bin): " << err << "\n";
  RecordProperty("max_abs_error", std::to_string(err));
}

TEST(ClipTextModel, PrefersSafetensorsAndIgnoresPositionIds) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const std::string dir = test::parity_dir() + "/models/text_encoder";
  auto sd = model::load_state_dict(dir + "/model.safetensors");
  ASSERT_TRUE(sd.count(kClipPositionIdsKey));  // the fixture carries the legacy buffer
  auto m = load_clip_text_model(dir);  // picks model.safetensors, accepts position_ids
  auto params = m->named_parameters();
  EXPECT_TRUE(torch::equal(params["text_model.embeddings.token_embedding.weight"],
                           sd.at("text_model.embeddings.token_embedding.weight")));
  EXPECT_FALSE(params.contains(kClipPositionIdsKey));
}

ClipTextConfig tiny_config() {
  ClipTextConfig c;
  c.hidden_size = 8;
  c.intermediate_size = 16;
  c.num_attention_heads = 2;
  c.num_hidden_layers = 2;
  c.max_position_embeddings = 7;
  c.vocab_size = 11;
  c.hidden_act = HiddenAct::kQuickGelu;
  c.layer_norm_eps = 1e-5;
  c.source = "tiny";
  return c;
}

std::string tiny_config_json() {
  return R"({"hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 2,
             "max_position_embeddings": 7, "vocab_size": 11, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05})";
}

// A random tiny model written with our own writer; `edit` changes the blobs.
std::string write_tiny(const std::string& tag, ClipTextModel& m,
                       const std::function<void(std::vector<io::TensorBlob>&)>& edit = {}) {
  const std::string dir = test::temp_dir(tag);
  io::write_file_atomic(dir + "/config.json", tiny_config_json());
  auto blobs = model::module_blobs(*m);
  if (edit) edit(blobs);
  io::write_safetensors(dir + "/model.safetensors", blobs);
  return dir;
}

TEST(ClipTextModel, ModuleNamesAreCheckpointKeys) {
  ClipTextModel m(tiny_config());
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.key());
  for (const char* key : {"text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
                          "text_model.encoder.layers.1.self_attn.q_proj.weight", "text_model.encoder.layers.0.self_attn.out_proj.bias",
                          "text_model.encoder.layers.0.layer_norm1.weight", "text_model.encoder.layers.1.layer_norm2.bias",
                          "text_model.encoder.layers.0.mlp.fc1.weight", "text_model.encoder.layers.1.mlp.fc2.bias",
                          "text_model.final_layer_norm.weight"})
    EXPECT_NE(std::find(names.begin(), names.end(), key), names.end()) << key;
  // 2 embeddings + 2 layers x (4 linear x 2 + 2 LN x 2 + 2 fc x 2) + final LN x 2
  EXPECT_EQ(names.size(), 2u + 2u * 16u + 2u);
}

TEST(ClipTextModel, StrictLoadingOfOwnFiles) {
  torch::manual_seed(3);
  ClipTextModel m(tiny_config());
  {
    torch::NoGradGuard g;
    for (auto& p : m->parameters()) p.normal_();
  }
  m->eval();
  const auto ids = torch::tensor({{0, 5, 3, 10, 1, 1, 1}, {0, 1, 2, 3, 4, 5, 6}}, torch::kLong);
  torch::NoGradGuard g;
  const auto want = m->forward(ids);

  // Round trip, plus the legacy position_ids buffer that must be ignored.
  auto dir = write_tiny("clip_ok", m, [](auto& blobs) {
    blobs.push_back(model::to_blob(kClipPositionIdsKey, torch::arange(7, torch::kLong).unsqueeze(0)));
  });
  auto loaded = load_clip_text_model(dir);
  EXPECT_TRUE(torch::equal(loaded->forward(ids), want));
  EXPECT_EQ(loaded->config().hidden_act, HiddenAct::kQuickGelu);

  const std::string missing_key = "text_model.encoder.layers.1.mlp.fc1.bias";
  dir = write_tiny("clip_missing", m, [&](auto& blobs) {
    std::erase_if(blobs, [&](const io::TensorBlob& b) { return b.name == missing_key; });
  });
  auto msg = error_of([&] { load_clip_text_model(dir); });
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find(missing_key), std::string::npos) << msg;

  dir = write_tiny("clip_extra", m, [](auto& blobs) {
    blobs.push_back(model::to_blob("text_model.encoder.layers.2.mlp.fc1.bias", torch::zeros({16})));
  });
  msg = error_of([&] { load_clip_text_model(dir); });
  EXPECT_NE(msg.find("unexpected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("text_model.encoder.layers.2.mlp.fc1.bias"), std::string::npos) << msg;

  const std::string shaped_key = "text_model.embeddings.position_embedding.weight";
  dir = write_tiny("clip_shape", m, [&](auto& blobs) {
    for (auto& b : blobs)
      if (b.name == shaped_key) b = model::to_blob(shaped_key, torch::zeros({77, 8}));
  });
  msg = error_of([&] { load_clip_text_model(dir); });
  EXPECT_NE(msg.find(shaped_key), std::string::npos) << msg;
  EXPECT_NE(msg.find("77"), std::string::npos) << msg;

  const std::string empty_dir = test::temp_dir("clip_noweights");
  io::write_file_atomic(empty_dir + "/config.json", tiny_config_json());
  msg = error_of([&] { load_clip_text_model(empty_dir); });
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

// Causal mask: outputs at positions < k do not depend on tokens at >= k (the
// padding after EOS never changes the prompt's own embeddings).
TEST(ClipTextModel, CausalMask) {
  torch::manual_seed(5);
  ClipTextModel m(tiny_config());
  torch::NoGradGuard g;
  auto a = m->forward(torch::tensor({{0, 5, 3, 10, 1, 1, 1}}, torch::kLong));
  auto b = m->forward(torch::tensor({{0, 5, 3, 7, 2, 9, 4}}, torch::kLong));
  EXPECT_TRUE(torch::allclose(a.slice(1, 0, 3), b.slice(1, 0, 3), 0, 0));
  EXPECT_FALSE(torch::allclose(a.slice(1, 3), b.slice(1, 3)));
}

// Attention and MLP recomputed by hand from the module's own parameters.
TEST(ClipTextModel, LayerMatchesHandComputation) {
  torch::manual_seed(7);
  auto cfg = tiny_config();
  cfg.num_hidden_layers = 1;
  for (auto act : {HiddenAct::kGelu, HiddenAct::kQuickGelu}) {
    cfg.hidden_act = act;
    ClipTextModel m(cfg);
    torch::NoGradGuard g;
    for (auto& p : m->parameters()) p.normal_(0, 0.5);
    auto P = m->named_parameters();
    auto w = [&](const std::string& k) { return P[k]; };
    auto ids = torch::tensor({{1, 4, 9, 2}}, torch::kLong);
    const std::string e = "text_model.embeddings.", l = "text_model.encoder.layers.0.";
    auto x = w(e + "token_embedding.weight").index_select(0, ids[0]) + w(e + "position_embedding.weight").slice(0, 0, 4);
    auto ln = [&](const at::Tensor& t, const std::string& k) {
      auto mu = t.mean(-1, true);
      auto var = (t - mu).pow(2).mean(-1, true);
      return (t - mu) / torch::sqrt(var + 1e-5) * w(k + ".weight") + w(k + ".bias");
    };
    auto lin = [&](const at::Tensor& t, const std::string& k) { return t.matmul(w(k + ".weight").t()) + w(k + ".bias"); };
    auto h = ln(x, l + "layer_norm1");
    auto q = lin(h, l + "self_attn.q_proj"), k = lin(h, l + "self_attn.k_proj"), v = lin(h, l + "self_attn.v_proj");
    std::vector<at::Tensor> heads;
    for (int hd = 0; hd < 2; ++hd) {
      auto qs = q.slice(1, hd * 4, hd * 4 + 4), ks = k.slice(1, hd * 4, hd * 4 + 4), vs = v.slice(1, hd * 4, hd * 4 + 4);
      auto s = qs.matmul(ks.t()) / 2.0;  // head_dim 4 -> scale 1/2
      s = s.masked_fill(torch::ones({4, 4}, torch::kBool).triu(1), -std::numeric_limits<float>::infinity());
      heads.push_back(torch::softmax(s, -1).matmul(vs));
    }
    x = x + lin(torch::cat(heads, 1), l + "self_attn.out_proj");
    auto f = lin(ln(x, l + "layer_norm2"), l + "mlp.fc1");
    f = act == HiddenAct::kGelu ? 0.5 * f * (1 + torch::erf(f / std::sqrt(2.0))) : f * torch::sigmoid(1.702 * f);
    x = x + lin(f, l + "mlp.fc2");
    auto want = ln(x, "text_model.final_layer_norm");
    auto got = m->forward(ids)[0];
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-5) << to_string(act);
  }
}

TEST(ClipTextConfig, ErrorsNameKeyAndFile) {
  auto j = nlohmann::json::parse(tiny_config_json());
  auto parse = [](const nlohmann::json& v) { return parse_clip_text_config(v.dump(), "/x/config.json"); };
  EXPECT_EQ(parse(j).hidden_size, 8);
  for (const char* key : {"hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers",
                          "max_position_embeddings", "vocab_size", "hidden_act", "layer_norm_eps"}) {
    auto bad = j;
    bad.erase(key);
    auto msg = error_of([&] { parse(bad); });
    EXPECT_NE(msg.find(key), std::string::npos) << msg;
    EXPECT_NE(msg.find("/x/config.json"), std::string::npos) << msg;
  }
  auto bad = j;
  bad["hidden_act"] = "relu";
  auto msg = error_of([&] { parse(bad); });
  EXPECT_NE(msg.find("relu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hidden_act"), std::string::npos) << msg;
  bad = j;
  bad["num_attention_heads"] = 3;
  EXPECT_NE(error_of([&] { parse(bad); }).find("divisible"), std::string::npos);
  bad = j;
  bad["hidden_size"] = "8";
  EXPECT_NE(error_of([&] { parse(bad); }).find("hidden_size"), std::string::npos);
  EXPECT_NE(error_of([] { parse_clip_text_config("{", "/y/config.json"); }).find("/y/config.json"), std::string::npos);
}

}  // namespace
}  // namespace ldmg::text
