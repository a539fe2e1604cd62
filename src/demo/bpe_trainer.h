#pragma once
// A CLIP-style byte-level BPE vocabulary of our own, learned from a small
// text (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
// Subword Units", Alg. 1), in the layout of openai/CLIP's
// simple_tokenizer.py: the 256 byte symbols of bytes_to_unicode(), the same
// with "</w>", one token per merge, then <|startoftext|> and <|endoftext|>.
// Written as a Hugging Face tokenizer folder that text::ClipTokenizer loads.
#include <string>
#include <utility>
#include <vector>

namespace ldmg::demo {

using Merge = std::pair<std::string, std::string>;

struct BpeVocab {
  std::vector<Merge> merges;        // rank order
  std::vector<std::string> tokens;  // id order (vocab.json)
  std::size_t size() const { return tokens.size(); }
};

// CLIP's bytes_to_unicode() stand-ins (UTF-8), in its dict order: the
// printable Latin-1 bytes first ('!' is id 0), then the other 68.
std::vector<std::string> clip_byte_symbols();

// Words of ASCII text as CLIP pre-tokenises them (lower-cased,
// <letters>+ | <digit> | <other non-space>+, contractions 's 't 're 've 'm 'll 'd).
// Non-ASCII input throws ldmg::Error (the demo corpus is ASCII).
std::vector<std::string> pre_tokenize_ascii(const std::string& text);

// Learns up to max_merges merges over the words of `texts` (word frequency
// weighted). Each step merges the most frequent adjacent pair, ties broken by
// the smaller (left, right) pair in byte order, so training is deterministic.
// Stops early when every word is a single symbol.
std::vector<Merge> train_bpe(const std::vector<std::string>& texts, int max_merges);

// The vocabulary in CLIP's order; a merge whose result already is a token
// adds no new id.
BpeVocab make_clip_vocab(const std::vector<Merge>& merges);

// Writes vocab.json, merges.txt, special_tokens_map.json and
// tokenizer_config.json (SD-2.1's layout: pad "!", max length 77) into `dir`.
void write_clip_tokenizer(const std::string& dir, const BpeVocab& vocab);

}  // namespace ldmg::demo
