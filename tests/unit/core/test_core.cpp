#include <gtest/gtest.h>

#include <fstream>

#include "core/check.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "support/fixtures.h"

using namespace ldmg;

// FIPS 180-4 / NIST example vectors.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, StreamingEqualsOneShotAndFile) {
  std::string data;
  for (int i = 0; i < 3000; ++i) data += static_cast<char>(i * 7 + 3);
  Sha256 h;
  for (std::size_t i = 0; i < data.size(); i += 37) h.update(data.substr(i, 37));
  const std::string streamed = h.hex_digest();
  EXPECT_EQ(streamed, sha256_hex(data));
  const std::string p = test::temp_dir("core") + "/blob";
  std::ofstream(p, std::ios::binary) << data;
  EXPECT_EQ(sha256_file(p), streamed);
  EXPECT_THROW(sha256_file(p + ".missing"), Error);
}

TEST(Progress, DurationFormatting) {
  EXPECT_EQ(Progress::format_duration(0), "0s");
  EXPECT_EQ(Progress::format_duration(59.4), "59s");
  EXPECT_EQ(Progress::format_duration(185), "3m05s");
  EXPECT_EQ(Progress::format_duration(3720), "1h02m");
  EXPECT_EQ(Progress::format_duration(-1), "?");
}

TEST(Check, MessageCarriesContext) {
  try {
    LDMG_CHECK(1 + 1 == 3, "value {} in '{}'", 42, "file.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("value 42 in 'file.csv'"), std::string::npos);
  }
  EXPECT_THROW(LDMG_ASSERT(false, "bug"), std::logic_error);
}
