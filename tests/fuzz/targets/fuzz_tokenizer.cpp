// libFuzzer: the CLIP BPE tokenizer (src/text/clip_tokenizer.h) on arbitrary
// bytes (invalid UTF-8 included), with the demo tokenizer kept in
// tests/fuzz/tokenizer (LDMG_FUZZ_TOKENIZER overrides the folder).
#include <cstdlib>

#include "fuzz_common.h"
#include "text/clip_tokenizer.h"

#ifndef LDMG_FUZZ_TOKENIZER_DIR
#define LDMG_FUZZ_TOKENIZER_DIR "tests/fuzz/tokenizer"
#endif

static const ldmg::text::ClipTokenizer& tokenizer() {
  static const ldmg::text::ClipTokenizer tok = [] {
    const char* dir = std::getenv("LDMG_FUZZ_TOKENIZER");
    return ldmg::text::ClipTokenizer::load(dir ? dir : LDMG_FUZZ_TOKENIZER_DIR);
  }();
  return tok;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& tok = tokenizer();
  LDMG_FUZZ_BODY({
    const std::string text = ldmg::fuzz::bytes(data, size);
    bool truncated = false;
    const auto ids = tok.encode_padded(text, 77, &truncated);
    if (ids.size() != 77) __builtin_trap();
    for (auto id : ids)
      if (id < 0 || static_cast<std::size_t>(id) >= tok.vocab_size()) __builtin_trap();
    const auto words = tok.encode_words(text);
    if (!truncated && words.size() + 2 > 77) __builtin_trap();
    (void)tok.decode(ids);
    (void)tok.tokenize(text);
  });
  return 0;
}
