#pragma once
// Errors with context. User and I/O errors throw ldmg::Error (caught by the
// CLI, printed, non-zero exit); LDMG_ASSERT guards internal invariants.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ldmg {

// Every error a user can cause: a bad file, a bad option, a bad row.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// The run should stop and can be resumed (e.g. SIGTERM before a time limit).
class Interrupted : public Error {
 public:
  using Error::Error;
};

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
[[noreturn]] void assert_fail(const char* file, int line, const char* cond, const std::string& msg);
}  // namespace detail

}  // namespace ldmg

// LDMG_CHECK(cond, "format {}", args...): throws ldmg::Error with the message.
#define LDMG_CHECK(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond)) ::ldmg::detail::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

// LDMG_FAIL("format {}", args...): unconditional ldmg::Error.
#define LDMG_FAIL(...) ::ldmg::detail::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))

// LDMG_ASSERT(cond, "format", ...): a broken invariant (a bug in ldmground).
#define LDMG_ASSERT(cond, ...)                                                   \
  do {                                                                           \
    if (!(cond)) ::ldmg::detail::assert_fail(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)
