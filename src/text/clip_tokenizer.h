#pragma once
// CLIP byte-level BPE tokenizer, as transformers 4.34's slow CLIPTokenizer
// with ftfy installed (transformers/models/clip/tokenization_clip.py;
// QUIRKS.md §2): added/special tokens are split off first (the SD-2.1 pad
// token "!" among them, so a literal '!' is id 0), then each remaining piece
// is whitespace_clean(ftfy.fix_text(piece)).lower() (fix_text.h for the ftfy
// subset), split with CLIP's pre-tokenizer regex, byte-encoded and merged.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ldmg::text {

class ClipTokenizer {
 public:
  // Reads vocab.json, merges.txt, special_tokens_map.json and (optional)
  // tokenizer_config.json from an HF tokenizer folder.
  static ClipTokenizer load(const std::string& dir);

  // BOS + ids + EOS, truncated to max_length() (BOS + first max_length()-2 +
  // EOS); `truncated` (optional) tells whether tokens were dropped.
  std::vector<std::int64_t> encode(std::string_view text, bool* truncated = nullptr) const;
  // encode() truncated to max_len and padded with pad_id() to exactly max_len.
  std::vector<std::int64_t> encode_padded(std::string_view text, int max_len = 77, bool* truncated = nullptr) const;
  // Token ids without BOS/EOS, untruncated (Table III class-name sub-tokens).
  std::vector<std::int64_t> encode_words(std::string_view text) const;
  // The token strings encode_words() maps to ids (vocab form, e.g. "effusion</w>").
  std::vector<std::string> tokenize(std::string_view text) const;

  // The vocabulary entry of `id` (byte-level form, e.g. "pleural</w>").
  std::string token_string(std::int64_t id) const;
  // Readable text of ids (bytes decoded, "</w>" -> space, stripped, HF's
  // clean_up_tokenization), as CLIPTokenizer.decode(skip_special_tokens=False).
  // Invalid UTF-8 byte sequences are kept as they are (HF: errors="replace").
  std::string decode(const std::vector<std::int64_t>& ids) const;

  std::int64_t bos_id() const { return bos_id_; }
  std::int64_t eos_id() const { return eos_id_; }
  std::int64_t pad_id() const { return pad_id_; }
  std::int64_t unk_id() const { return unk_id_; }
  int max_length() const { return max_length_; }
  std::size_t vocab_size() const { return id_to_token_.size(); }

 private:
  // BPE of one pre-token (already byte-encoded), appending vocab ids/strings.
  void bpe(const std::string& word, std::vector<std::string>& out) const;
  // Splits raw text at added tokens (longest match first, left to right).
  std::vector<std::pair<std::string, bool>> split_added(std::string_view text) const;
  std::int64_t id_of(const std::string& token) const;
  std::vector<std::int64_t> encode_padded(std::string_view text, int max_len, bool* truncated, bool pad) const;

  std::unordered_map<std::string, std::int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int> merge_ranks_;  // "a b" -> rank
  std::map<std::string, std::int64_t> added_;         // added/special token -> id
  std::string byte_encoder_[256];                      // byte -> UTF-8 of its stand-in code point
  std::unordered_map<char32_t, unsigned char> byte_decoder_;
  std::int64_t bos_id_ = 0, eos_id_ = 0, pad_id_ = 0, unk_id_ = 0;
  int max_length_ = 77;
};

}  // namespace ldmg::text
