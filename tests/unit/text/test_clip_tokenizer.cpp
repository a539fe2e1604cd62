// CLIP tokenizer vs the goldens of the authors' run (token ids exact), vs
// transformers 4.34.0 + ftfy 6.1.1 on hand-made prompts (hf_token_cases.inc),
// and hand-checked properties (pad "!", truncation, Table III class names).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/check.h"
#include "io/file_bytes.h"
#include "io/safetensors.h"
#include "model/state_dict.h"
#include "support/fixtures.h"
#include "text/clip_tokenizer.h"

namespace ldmg::text {
namespace {

namespace fs = std::filesystem;

using namespace std::literals;
struct TokenCase {
  const char* name;
  std::string_view text;
  std::vector<std::int64_t> ids;
};
#include "hf_token_cases.inc"

const ClipTokenizer& fixture_tokenizer() {
  static const ClipTokenizer tok = ClipTokenizer::load(test::parity_dir() + "/models/tokenizer");
  return tok;
}

std::vector<std::int64_t> as_ids(const at::Tensor& t) {
  auto f = t.to(at::kDouble).contiguous();
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < f.numel(); ++i) out.push_back(static_cast<std::int64_t>(f.data_ptr<double>()[i]));
  return out;
}

TEST(ClipTokenizer, SpecialIds) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto& tok = fixture_tokenizer();
  EXPECT_EQ(tok.bos_id(), 49406);
  EXPECT_EQ(tok.eos_id(), 49407);
  EXPECT_EQ(tok.pad_id(), 0);  // "!" from special_tokens_map.json, not tokenizer_config's <|endoftext|>
  EXPECT_EQ(tok.max_length(), 77);
  EXPECT_EQ(tok.vocab_size(), 49408u);
  EXPECT_EQ(tok.token_string(49406), "<|startoftext|>");
  EXPECT_EQ(tok.token_string(0), "!");
  EXPECT_EQ(tok.token_string(256), "!</w>");
  EXPECT_THROW(tok.token_string(49408), ldmg::Error);
}

TEST(ClipTokenizer, MatchesTransformers434) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto& tok = fixture_tokenizer();
  for (const auto& c : kHfCases) EXPECT_EQ(tok.encode(c.text), c.ids) << "case " << c.name << ": '" << c.text << "'";
}

TEST(ClipTokenizer, HandMadeCases) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto& tok = fixture_tokenizer();
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(tok.encode("!"), (V{49406, 0, 49407}));                      // literal "!" is the pad token
  EXPECT_EQ(tok.encode_words("&amp;"), tok.encode_words("&"));           // HTML unescape
  EXPECT_EQ(tok.encode_words("\u201cleft\u201d"), tok.encode_words("\"left\""));  // curly quotes
  EXPECT_EQ(tok.encode_words("LEFT PLEURAL Effusion"), tok.encode_words("left pleural effusion"));
  EXPECT_EQ(tok.encode_words("  left \t pleural\n\neffusion  "), tok.encode_words("left pleural effusion"));
  EXPECT_EQ(tok.encode_words("caf\u0065\u0301"), tok.encode_words("caf\u00e9"));  // NFC
  EXPECT_EQ(tok.tokenize("Small left pleural effusion."),
            (std::vector<std::string>{"small</w>", "left</w>", "ple", "ural</w>", "ef", "fusion</w>", ".</w>"}));
  EXPECT_EQ(tok.decode(tok.encode_words("Small left pleural effusion.")), "small left pleural effusion.");
}

TEST(ClipTokenizer, EmptyAndPadding) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto& tok = fixture_tokenizer();
  auto ids = tok.encode_padded("");
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids[0], 49406);
  EXPECT_EQ(ids[1], 49407);
  for (std::size_t i = 2; i < ids.size(); ++i) EXPECT_EQ(ids[i], 0) << i;
  EXPECT_EQ(tok.encode_padded("a b", 6), (std::vector<std::int64_t>{49406, 320, 321, 49407, 0, 0}));
}

TEST(ClipTokenizer, TruncationKeepsBosFirst75Eos) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto& tok = fixture_tokenizer();
  std::string prompt;
  for (int i = 0; i < 100; ++i) prompt += (i ? " " : "") + std::string(i % 2 ? "effusion" : "left");
  const auto words = tok.encode_words(prompt);
  ASSERT_GT(words.size(), 75u);
  bool truncated = false;
  const auto ids = tok.encode(prompt, &truncated);
  EXPECT_TRUE(truncated);
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids.front(), 49406);
  EXPECT_EQ(ids.back(), 49407);
  EXPECT_TRUE(std::equal(ids.begin() + 1, ids.end() - 1, words.begin()));
  bool padded_truncated = false;
  EXPECT_EQ(tok.encode_padded(prompt, 77, &padded_truncated), ids);
  EXPECT_TRUE(padded_truncated);
  tok.encode("Small left pleural effusion.", &truncated);
  EXPECT_FALSE(truncated);
  // Exactly 75 words fit without truncation.
  std::string seventy_five;
  for (int i = 0; i < 75; ++i) seventy_five += "a ";
  EXPECT_EQ(tok.encode(seventy_five, &truncated).size(), 77u);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(tok.encode(seventy_five + "a", &truncated).size(), 77u);
  EXPECT_TRUE(truncated);
}

TEST(ClipTokenizer, TableIIIClassNames) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto& tok = fixture_tokenizer();
  for (const auto& c : kClassNames) EXPECT_EQ(tok.encode_words(c.text), c.ids) << c.text;
  // The authors' run recorded the sub-token ids it matched (metrics.json cls_token_ids).
  std::ifstream in(test::parity_dir() + "/golden/T20/metrics.json");
  auto metrics = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& e : metrics["per_sample"]) {
    if (!e.contains("cls_name") || e["cls_name"].is_null()) continue;
    EXPECT_EQ(tok.encode_words(e["cls_name"].get<std::string>()), e["cls_token_ids"].get<std::vector<std::int64_t>>())
        << e["cls_name"];
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

// Every sample file of every golden set: input_ids == encode(prompt) and
// input_ids_padded == [encode_padded(""), encode_padded(prompt)].
TEST(ClipTokenizer, GoldenIdsOfEverySample) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto& tok = fixture_tokenizer();
  int files = 0;
  for (const char* set : {"T20", "T50", "T20_libstep"}) {
    const fs::path root = fs::path(test::parity_dir()) / "golden" / set;
    std::ifstream in(root / "metrics.json");
    auto metrics = nlohmann::json::parse(in);
    std::set<std::string> covered;
    for (const auto& e : metrics["per_sample"]) {
      if (!e.contains("file") || e["file"].is_null()) {
        EXPECT_TRUE(e["skipped"].get<bool>()) << set << " entry " << e["key"] << " has no sample file";
        continue;
      }
      const std::string file = e["file"].get<std::string>();
      // metrics.json names pair i "samples/pairII.safetensors" (key "i") or
      // "samples/pairII_table3.safetensors" (key "t3_i").
      const std::string key = e["key"].get<std::string>();
      const int pair = e["pair_index"].get<int>();
      const bool t3 = key.rfind("t3_", 0) == 0;
      EXPECT_EQ(file, fmt::format("samples/pair{:02d}{}.safetensors", pair, t3 ? "_table3" : "")) << key;
      covered.insert(fs::path(file).filename().string());

      const std::string prompt = e["prompt"].get<std::string>();
      const auto sd = model::load_state_dict((root / file).string());
      const auto want = as_ids(sd.at("input_ids"));
      EXPECT_EQ(tok.encode(prompt), want) << set << "/" << file << " '" << prompt << "'";
      const auto padded = as_ids(sd.at("input_ids_padded"));
      ASSERT_EQ(padded.size(), 2u * 77u) << set << "/" << file;
      EXPECT_EQ(std::vector<std::int64_t>(padded.begin(), padded.begin() + 77), tok.encode_padded("")) << set << "/" << file;
      EXPECT_EQ(std::vector<std::int64_t>(padded.begin() + 77, padded.end()), tok.encode_padded(prompt)) << set << "/" << file;
      // token_slice of the plain entries is 1 .. n-1 of the unpadded ids.
      if (!t3) EXPECT_EQ(e["token_slice"][1].get<std::size_t>(), want.size() - 1) << set << "/" << file;
      ++files;
    }
    std::set<std::string> on_disk;
    for (const auto& p : fs::directory_iterator(root / "samples"))
      if (p.path().extension() == ".safetensors") on_disk.insert(p.path().filename().string());
    EXPECT_EQ(covered, on_disk) << set << ": sample files without a metrics.json entry (or vice versa)";
  }
  EXPECT_EQ(files, 33);
}

TEST(ClipTokenizer, LoadErrorsNameTheFile) {
  const std::string dir = test::temp_dir("clip_tok_err");
  try {
    ClipTokenizer::load(dir);
    FAIL() << "expected an error";
  } catch (const ldmg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab.json"), std::string::npos) << e.what();
  }
  io::write_file_atomic(dir + "/vocab.json", R"({"a": 0, "b": 1, "a</w>": 2, "<|startoftext|>": 3, "<|endoftext|>": 4})");
  io::write_file_atomic(dir + "/merges.txt", "#version: 0.2\na b c\n");
  try {
    ClipTokenizer::load(dir);
    FAIL() << "expected an error";
  } catch (const ldmg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("merges.txt:2"), std::string::npos) << e.what();
  }
  // A minimal valid folder: no special_tokens_map.json -> CLIP defaults.
  io::write_file_atomic(dir + "/merges.txt", "#version: 0.2\na b\n");
  auto tok = ClipTokenizer::load(dir);
  EXPECT_EQ(tok.bos_id(), 3);
  EXPECT_EQ(tok.pad_id(), 4);
  EXPECT_EQ(tok.encode("a"), (std::vector<std::int64_t>{3, 2, 4}));
  EXPECT_EQ(tok.encode("b"), (std::vector<std::int64_t>{3, 4, 4}));  // "b</w>" unknown -> unk = <|endoftext|>
}

}  // namespace
}  // namespace ldmg::text
