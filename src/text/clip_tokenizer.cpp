#include "text/clip_tokenizer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>

#include "core/check.h"
#include "io/file_bytes.h"
#include "text/fix_text.h"
#include "text/unicode.h"

namespace ldmg::text {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& path) {
  std::string bytes = io::read_file_bytes(path.string());
  try {
    return json::parse(bytes);
  } catch (const json::exception& e) {
    LDMG_FAIL("{}: not valid JSON ({})", path.string(), e.what());
  }
}

// A special token in special_tokens_map.json / tokenizer_config.json is a
// string or an AddedToken object {"content": ...}.
std::optional<std::string> token_content(const json& j, const char* key, const fs::path& file) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  LDMG_CHECK(v.is_object() && v.contains("content") && v["content"].is_string(),
             "{}: '{}' must be a string or an object with a string 'content'", file.string(), key);
  return v["content"].get<std::string>();
}

// CLIP's bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
// the other 68 bytes for U+0100.. in byte order.
void build_byte_tables(std::string (&enc)[256], std::unordered_map<char32_t, unsigned char>& dec) {
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
    enc[b].clear();
    append_utf8(enc[b], cp);
    dec[cp] = static_cast<unsigned char>(b);
  }
}

// Case-insensitive literal match (regex IGNORECASE, simple case folding): on
// lower-cased text only U+017F LONG S still folds to an ASCII letter
// (transformers 4.34 + regex: "it'\u017f" gives the contraction "'\u017f").
bool match_literal(const std::u32string& s, std::size_t i, std::u32string_view lit) {
  if (i + lit.size() > s.size()) return false;
  for (std::size_t k = 0; k < lit.size(); ++k) {
    const char32_t c = s[i + k], l = lit[k];
    if (c != l && !(l == U's' && c == 0x17F)) return false;
  }
  return true;
}

// CLIP's pre-tokenizer (tokenization_clip.py, re.IGNORECASE):
// <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// re.findall semantics: alternatives tried in order at each position; a
// position where none matches (whitespace) is skipped.
std::vector<std::u32string> pre_tokenize(const std::u32string& s) {
  static constexpr std::u32string_view kLiterals[] = {U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re",
                                                      U"'ve", U"'m", U"'ll", U"'d"};
  std::vector<std::u32string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 0;
    for (auto lit : kLiterals)
      if (match_literal(s, i, lit)) {
        len = lit.size();
        break;
      }
    if (len == 0 && is_letter(s[i])) {
      while (i + len < s.size() && is_letter(s[i + len])) ++len;
    } else if (len == 0 && is_number(s[i])) {
      len = 1;
    } else if (len == 0 && !is_space(s[i])) {
      auto other = [](char32_t c) { return !is_space(c) && !is_letter(c) && !is_number(c); };
      while (i + len < s.size() && other(s[i + len])) ++len;
    }
    if (len == 0) {
      ++i;
      continue;
    }
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

ClipTokenizer ClipTokenizer::load(const std::string& dir_str) {
  fs::path dir(dir_str);
  LDMG_CHECK(fs::is_directory(dir), "tokenizer folder '{}' does not exist (expected vocab.json, merges.txt, ...)", dir_str);
  ClipTokenizer t;
  build_byte_tables(t.byte_encoder_, t.byte_decoder_);

  const fs::path vocab_path = dir / "vocab.json";
  json vocab = read_json(vocab_path);
  LDMG_CHECK(vocab.is_object() && !vocab.empty(), "{}: expected a JSON object token -> id", vocab_path.string());
  std::int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    LDMG_CHECK(it.value().is_number_integer(), "{}: id of token '{}' is not an integer", vocab_path.string(), it.key());
    std::int64_t id = it.value().get<std::int64_t>();
    LDMG_CHECK(id >= 0 && id < 10'000'000, "{}: token '{}' has id {} out of range", vocab_path.string(), it.key(), id);
    t.vocab_[it.key()] = id;
    max_id = std::max(max_id, id);
  }
  t.id_to_token_.assign(static_cast<std::size_t>(max_id + 1), std::string());
  for (const auto& [tok, id] : t.vocab_) t.id_to_token_[static_cast<std::size_t>(id)] = tok;

  // merges.txt: read().strip().split("\n")[1 : 49152 - 256 - 2 + 1] (the
  // first line is "#version: ..."; CLIP keeps at most 48894 merges).
  const fs::path merges_path = dir / "merges.txt";
  std::istringstream merges(io::read_file_bytes(merges_path.string()));
  std::string line;
  std::getline(merges, line);
  LDMG_CHECK(line.rfind("#version", 0) == 0, "{}: first line should be '#version: ...', found '{}'", merges_path.string(), line);
  constexpr int kMaxMerges = 49152 - 256 - 2;
  int rank = 0, line_no = 1;
  while (rank < kMaxMerges && std::getline(merges, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() && merges.peek() == EOF) break;
    std::istringstream parts(line);
    std::string a, b, extra;
    LDMG_CHECK(parts >> a >> b && !(parts >> extra), "{}:{}: expected two symbols separated by a space, found '{}'",
               merges_path.string(), line_no, line);
    t.merge_ranks_.emplace(a + " " + b, rank++);
  }
  LDMG_CHECK(rank > 0, "{}: no merges", merges_path.string());

  // Special tokens: special_tokens_map.json overrides tokenizer_config.json
  // (SD-2.1: pad "!" instead of "<|endoftext|>").
  const fs::path map_path = dir / "special_tokens_map.json";
  const fs::path cfg_path = dir / "tokenizer_config.json";
  json smap = fs::exists(map_path) ? read_json(map_path) : json::object();
  json cfg = fs::exists(cfg_path) ? read_json(cfg_path) : json::object();
  auto special = [&](const char* key, const char* fallback) {
    if (auto v = token_content(smap, key, map_path)) return *v;
    if (auto v = token_content(cfg, key, cfg_path)) return *v;
    return std::string(fallback);
  };
  std::string bos = special("bos_token", "<|startoftext|>");
  std::string eos = special("eos_token", "<|endoftext|>");
  std::string unk = special("unk_token", "<|endoftext|>");
  std::string pad = special("pad_token", "<|endoftext|>");
  std::vector<std::string> specials = {bos, eos, unk, pad};
  if (smap.contains("additional_special_tokens") && smap["additional_special_tokens"].is_array())
    for (const auto& v : smap["additional_special_tokens"])
      specials.push_back(v.is_string() ? v.get<std::string>() : v.value("content", std::string()));
  for (const auto& s : specials) {
    if (s.empty() || t.added_.count(s)) continue;
    auto it = t.vocab_.find(s);
    // A special token missing from the vocabulary gets the next free id, as
    // transformers' add_tokens() does.
    std::int64_t id = it != t.vocab_.end() ? it->second : static_cast<std::int64_t>(t.id_to_token_.size());
    if (it == t.vocab_.end()) t.id_to_token_.push_back(s);
    t.added_[s] = id;
  }
  t.bos_id_ = t.added_.at(bos);
  t.eos_id_ = t.added_.at(eos);
  t.unk_id_ = t.added_.at(unk);
  t.pad_id_ = t.added_.at(pad);
  if (cfg.contains("model_max_length") && cfg["model_max_length"].is_number_integer()) {
    auto m = cfg["model_max_length"].get<std::int64_t>();
    // HF writes a huge sentinel (1e30) when no length is known; keep CLIP's 77 then.
    if (m >= 2 && m <= 1'000'000) t.max_length_ = static_cast<int>(m);
  }
  return t;
}

std::int64_t ClipTokenizer::id_of(const std::string& token) const {
  auto it = vocab_.find(token);
  return it != vocab_.end() ? it->second : unk_id_;
}

// tokenization_utils.py Trie.split with every added token non-stripping:
// left to right, the longest added token starting at a position wins.
std::vector<std::pair<std::string, bool>> ClipTokenizer::split_added(std::string_view text) const {
  std::vector<std::pair<std::string, bool>> out;
  std::size_t start = 0, i = 0;
  while (i < text.size()) {
    const std::string* best = nullptr;
    for (const auto& [tok, _] : added_)
      if (text.compare(i, tok.size(), tok) == 0 && (!best || tok.size() > best->size())) best = &tok;
    if (!best) {
      ++i;
      continue;
    }
    if (i > start) out.emplace_back(std::string(text.substr(start, i - start)), false);
    out.emplace_back(*best, true);
    i += best->size();
    start = i;
  }
  if (start < text.size()) out.emplace_back(std::string(text.substr(start)), false);
  return out;
}

// CLIPTokenizer.bpe: word = chars with "</w>" on the last; repeatedly merge
// every occurrence (left to right) of the adjacent pair with the lowest rank.
void ClipTokenizer::bpe(const std::string& word, std::vector<std::string>& out) const {
  if (word == "<|startoftext|>" || word == "<|endoftext|>") {  // CLIPTokenizer's pre-filled bpe cache
    out.push_back(word);
    return;
  }
  std::vector<std::string> sym;
  for (std::size_t i = 0; i < word.size();) {  // split the UTF-8 into code points
    auto b = static_cast<unsigned char>(word[i]);
    std::size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    sym.push_back(word.substr(i, len));
    i += len;
  }
  if (sym.empty()) return;
  sym.back() += "</w>";
  while (sym.size() > 1) {
    int best = std::numeric_limits<int>::max();
    std::size_t best_i = 0;
    for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = merge_ranks_.find(sym[i] + " " + sym[i + 1]);
      if (it != merge_ranks_.end() && it->second < best) {
        best = it->second;
        best_i = i;
      }
    }
    if (best == std::numeric_limits<int>::max()) break;
    const std::string first = sym[best_i], second = sym[best_i + 1];
    std::vector<std::string> merged;
    merged.reserve(sym.size());
    for (std::size_t i = 0; i < sym.size();) {
      if (i + 1 < sym.size() && sym[i] == first && sym[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(sym[i++]);
      }
    }
    sym.swap(merged);
  }
  for (auto& s : sym) out.push_back(std::move(s));
}

std::vector<std::string> ClipTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> tokens;
  for (const auto& [piece, is_added] : split_added(text)) {
    if (is_added) {
      tokens.push_back(piece);
      continue;
    }
    // CLIPTokenizer._tokenize: whitespace_clean(fix_text(text)).lower()
    std::u32string clean = to_lower(whitespace_clean(fix_text(utf8_to_u32(piece, "prompt"))));
    for (const auto& pre : pre_tokenize(clean)) {
      std::string encoded;
      for (unsigned char b : u32_to_utf8(pre)) encoded += byte_encoder_[b];
      bpe(encoded, tokens);
    }
  }
  return tokens;
}

std::vector<std::int64_t> ClipTokenizer::encode_words(std::string_view text) const {
  std::vector<std::int64_t> ids;
  for (const auto& tok : tokenize(text)) {
    auto it = added_.find(tok);
    ids.push_back(it != added_.end() ? it->second : id_of(tok));
  }
  return ids;
}

std::vector<std::int64_t> ClipTokenizer::encode(std::string_view text, bool* truncated) const {
  return encode_padded(text, max_length_, truncated, /*pad=*/false);
}

std::vector<std::int64_t> ClipTokenizer::encode_padded(std::string_view text, int max_len, bool* truncated) const {
  return encode_padded(text, max_len, truncated, /*pad=*/true);
}

std::vector<std::int64_t> ClipTokenizer::encode_padded(std::string_view text, int max_len, bool* truncated, bool pad) const {
  LDMG_CHECK(max_len >= 2, "max_len {} cannot hold BOS and EOS", max_len);
  std::vector<std::int64_t> words = encode_words(text);
  const auto keep = static_cast<std::size_t>(max_len - 2);
  if (truncated) *truncated = words.size() > keep;
  if (words.size() > keep) words.resize(keep);
  std::vector<std::int64_t> ids;
  ids.reserve(static_cast<std::size_t>(max_len));
  ids.push_back(bos_id_);
  ids.insert(ids.end(), words.begin(), words.end());
  ids.push_back(eos_id_);
  if (pad) ids.resize(static_cast<std::size_t>(max_len), pad_id_);
  return ids;
}

std::string ClipTokenizer::token_string(std::int64_t id) const {
  LDMG_CHECK(id >= 0 && static_cast<std::size_t>(id) < id_to_token_.size(), "token id {} outside the vocabulary (size {})",
             id, id_to_token_.size());
  return id_to_token_[static_cast<std::size_t>(id)];
}

std::string ClipTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string joined;
  for (auto id : ids) joined += token_string(id);
  std::string bytes;
  for (char32_t cp : utf8_to_u32(joined, "vocabulary")) {
    auto it = byte_decoder_.find(cp);
    if (it != byte_decoder_.end()) bytes.push_back(static_cast<char>(it->second));
    else append_utf8(bytes, cp);
  }
  std::string out;
  for (std::size_t i = 0; i < bytes.size();) {
    if (bytes.compare(i, 4, "</w>") == 0) {
      out.push_back(' ');
      i += 4;
    } else {
      out.push_back(bytes[i++]);
    }
  }
  auto first = out.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return "";
  out = out.substr(first, out.find_last_not_of(" \t\n\r\f\v") - first + 1);
  // PreTrainedTokenizerBase.clean_up_tokenization (clean_up_tokenization_spaces=True).
  static const std::pair<const char*, const char*> kCleanUp[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kCleanUp) {
    const std::string f(from), t(to);
    for (std::size_t pos = 0; (pos = out.find(f, pos)) != std::string::npos; pos += t.size()) out.replace(pos, f.size(), t);
  }
  return out;
}

}  // namespace ldmg::text
