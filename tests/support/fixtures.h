#pragma once
// Locating ../shared/fixtures; tests that need it skip with a clear message.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace ldmg::test {

// Expects `fn` to throw ldmg::Error whose message contains every one of `parts`.
void expect_error_mentions(const std::function<void()>& fn, const std::vector<std::string>& parts);

// The shared/ folder: $LDMG_SHARED_DIR, else ../shared beside the repo.
// Empty if it does not exist.
std::string shared_dir();
// shared/fixtures/parity, or empty.
std::string parity_dir();
// A fresh empty temporary directory, removed at process exit.
std::string temp_dir(const std::string& tag);

}  // namespace ldmg::test

// Skips the current test when ../shared is absent (a fresh clone without it).
#define LDMG_REQUIRE_PARITY_FIXTURES()                                                         \
  do {                                                                                        \
    if (::ldmg::test::parity_dir().empty())                                                   \
      GTEST_SKIP() << "shared/fixtures/parity not found (set LDMG_SHARED_DIR or place shared/ " \
                      "beside the repository); parity test skipped";                           \
  } while (0)
