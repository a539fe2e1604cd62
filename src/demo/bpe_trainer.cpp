#include "demo/bpe_trainer.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::demo {

namespace {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {  // the stand-ins are all below U+0800
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_printable_byte(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

// Byte -> its stand-in symbol.
const std::vector<std::string>& byte_encoder() {
  static const std::vector<std::string> enc = [] {
    std::vector<std::string> e(256);
    int n = 0;
    for (int b = 0; b < 256; ++b) append_utf8(e[b], is_printable_byte(b) ? static_cast<char32_t>(b) : 256 + n++);
    return e;
  }();
  return enc;
}

constexpr const char* kBos = "<|startoftext|>";
constexpr const char* kEos = "<|endoftext|>";

// A word as its symbols, the last one carrying "</w>".
std::vector<std::string> word_symbols(const std::string& word) {
  std::vector<std::string> s;
  for (unsigned char c : word) s.push_back(byte_encoder()[c]);
  s.back() += "</w>";
  return s;
}

}  // namespace

std::vector<std::string> clip_byte_symbols() {
  std::vector<std::string> out;
  for (int b = 0; b < 256; ++b)
    if (is_printable_byte(b)) out.push_back(byte_encoder()[b]);
  for (int b = 0; b < 256; ++b)
    if (!is_printable_byte(b)) out.push_back(byte_encoder()[b]);
  return out;
}

std::vector<std::string> pre_tokenize_ascii(const std::string& text) {
  static const char* kContractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  std::string s;
  for (unsigned char c : text) {
    LDMG_CHECK(c < 0x80, "demo tokenizer corpus must be ASCII; found byte 0x{:02x} in '{}'", c, text);
    s += static_cast<char>(std::tolower(c));
  }
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 0;
    for (const char* k : kContractions)
      if (s.compare(i, std::char_traits<char>::length(k), k) == 0) {
        len = std::char_traits<char>::length(k);
        break;
      }
    const auto ch = [&](std::size_t j) { return static_cast<unsigned char>(s[j]); };
    if (len == 0 && std::isalpha(ch(i))) {
      while (i + len < s.size() && std::isalpha(ch(i + len))) ++len;
    } else if (len == 0 && std::isdigit(ch(i))) {
      len = 1;
    } else if (len == 0 && !std::isspace(ch(i))) {
      while (i + len < s.size() && !std::isspace(ch(i + len)) && !std::isalnum(ch(i + len))) ++len;
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

std::vector<Merge> train_bpe(const std::vector<std::string>& texts, int max_merges) {
  std::map<std::string, int> freq;
  for (const auto& t : texts)
    for (const auto& w : pre_tokenize_ascii(t)) ++freq[w];
  std::vector<std::pair<std::vector<std::string>, int>> words;
  for (const auto& [w, n] : freq) words.emplace_back(word_symbols(w), n);

  std::vector<Merge> merges;
  while (static_cast<int>(merges.size()) < max_merges) {
    std::map<Merge, long> counts;  // ordered: ties go to the smaller pair
    for (const auto& [sym, n] : words)
      for (std::size_t i = 0; i + 1 < sym.size(); ++i) counts[{sym[i], sym[i + 1]}] += n;
    if (counts.empty()) break;
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second) best = it;
    const Merge m = best->first;
    merges.push_back(m);
    for (auto& [sym, n] : words) {
      std::vector<std::string> next;
      for (std::size_t i = 0; i < sym.size(); ++i) {
        if (i + 1 < sym.size() && sym[i] == m.first && sym[i + 1] == m.second) {
          next.push_back(m.first + m.second);
          ++i;
        } else {
          next.push_back(sym[i]);
        }
      }
      sym = std::move(next);
    }
  }
  return merges;
}

BpeVocab make_clip_vocab(const std::vector<Merge>& merges) {
  BpeVocab v;
  v.merges = merges;
  std::set<std::string> seen;
  auto add = [&](const std::string& t) {
    if (seen.insert(t).second) v.tokens.push_back(t);
  };
  const auto bytes = clip_byte_symbols();
  for (const auto& b : bytes) add(b);
  for (const auto& b : bytes) add(b + "</w>");
  for (const auto& [a, b] : merges) add(a + b);
  add(kBos);
  add(kEos);
  return v;
}

void write_clip_tokenizer(const std::string& dir, const BpeVocab& vocab) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  nlohmann::ordered_json vj = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < vocab.tokens.size(); ++i) vj[vocab.tokens[i]] = i;
  io::write_file_atomic((fs::path(dir) / "vocab.json").string(), vj.dump());

  std::string merges = "#version: 0.2\n";
  for (const auto& [a, b] : vocab.merges) merges += a + " " + b + "\n";
  io::write_file_atomic((fs::path(dir) / "merges.txt").string(), merges);

  auto added = [](const char* content) {
    return nlohmann::ordered_json{{"content", content}, {"lstrip", false}, {"normalized", true},
                                  {"rstrip", false},    {"single_word", false}};
  };
  nlohmann::ordered_json smap = {
      {"bos_token", added(kBos)}, {"eos_token", added(kEos)}, {"pad_token", "!"}, {"unk_token", added(kEos)}};
  io::write_file_atomic((fs::path(dir) / "special_tokens_map.json").string(), smap.dump(2) + "\n");

  auto typed = [&](const char* content) {
    nlohmann::ordered_json j = {{"__type", "AddedToken"}};
    const nlohmann::ordered_json fields = added(content);  // items() must not outlive its json
    for (const auto& [k, val] : fields.items()) j[k] = val;
    return j;
  };
  nlohmann::ordered_json cfg = {{"add_prefix_space", false},
                                {"bos_token", typed(kBos)},
                                {"do_lower_case", true},
                                {"eos_token", typed(kEos)},
                                {"errors", "replace"},
                                {"model_max_length", 77},
                                {"name_or_path", "ldmground-demo"},
                                {"pad_token", typed(kEos)},
                                {"special_tokens_map_file", "./special_tokens_map.json"},
                                {"tokenizer_class", "CLIPTokenizer"},
                                {"unk_token", typed(kEos)}};
  io::write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), cfg.dump(2) + "\n");
}

}  // namespace ldmg::demo
