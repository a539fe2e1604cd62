// Token selection: hand cases and the token_slice of every golden pair.
#include <gtest/gtest.h>

#include "core/check.h"
#include "grounding/golden_chain.h"
#include "grounding/token_selection.h"

using namespace ldmg;
using namespace ldmg::grounding;

TEST(TokenSelection, PromptTokensExcludeBosAndEos) {
  const std::vector<std::int64_t> ids = {49406, 10, 11, 12, 49407};
  const TokenSlice s = prompt_tokens(ids);
  EXPECT_EQ(s.begin, 1);
  EXPECT_EQ(s.end, 4);
  EXPECT_TRUE(prompt_tokens(std::vector<std::int64_t>{49406, 49407}).empty());
}

TEST(TokenSelection, PathologyRuleOnHandMadeIds) {
  const std::vector<std::int64_t> ids = {49406, 5, 7, 8, 9, 7, 3, 49407};
  // matches at 2, 3, 5 -> [2, 5): last match exclusive
  TokenSlice s = pathology_tokens(ids, std::vector<std::int64_t>{7, 8});
  EXPECT_EQ(s.begin, 2);
  EXPECT_EQ(s.end, 5);
  // a single match is widened to one token
  s = pathology_tokens(ids, std::vector<std::int64_t>{9});
  EXPECT_EQ(s.begin, 4);
  EXPECT_EQ(s.end, 5);
  // repeated id: first..last of all occurrences
  s = pathology_tokens(ids, std::vector<std::int64_t>{7});
  EXPECT_EQ(s.begin, 2);
  EXPECT_EQ(s.end, 5);
  EXPECT_TRUE(pathology_tokens(ids, std::vector<std::int64_t>{42}).empty());
  EXPECT_EQ(explicit_tokens(1, 3, 8).size(), 2);
  EXPECT_THROW(explicit_tokens(3, 3, 8), Error);
  EXPECT_THROW(explicit_tokens(1, 9, 8), Error);
}

TEST(TokenSelection, GoldenTokenSlicesOfEveryPair) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  int checked = 0, checked_t3 = 0;
  for (const char* run : {"T20", "T50", "T20_libstep"}) {
    const auto meta = test::load_json(test::golden_dir(run) + "/metrics.json");
    for (const auto& e : meta.at("per_sample")) {
      if (!e.contains("file")) continue;
      const auto g = test::load_golden(test::golden_dir(run) + "/" + e.at("file").get<std::string>());
      const std::vector<std::int64_t> ids = test::ids_of(g.at("input_ids"));
      const std::string key = e.at("key");
      if (key.rfind("t3_", 0) == 0) {
        const auto cls = e.at("cls_token_ids").get<std::vector<std::int64_t>>();
        const auto pos = e.at("cls_token_positions").get<std::vector<int>>();
        const TokenSlice s = pathology_tokens(ids, cls);
        if (pos.empty()) {
          EXPECT_TRUE(s.empty()) << run << " " << key;
        } else {
          EXPECT_EQ(s.begin, e.at("token_slice")[0].get<int>()) << run << " " << key;
          EXPECT_EQ(s.end, e.at("token_slice")[1].get<int>()) << run << " " << key;
          EXPECT_EQ(s.begin, pos.front());
        }
        ++checked_t3;
      } else {
        const TokenSlice s = prompt_tokens(ids);
        EXPECT_EQ(s.begin, e.at("token_slice")[0].get<int>()) << run << " " << key;
        EXPECT_EQ(s.end, e.at("token_slice")[1].get<int>()) << run << " " << key;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 24);
  EXPECT_EQ(checked_t3, 9);
}
