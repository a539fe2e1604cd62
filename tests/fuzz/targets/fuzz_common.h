#pragma once
// Shared by the libFuzzer entry points: quiet logging, and the rule that a
// parser may reject any input with ldmg::Error but nothing else (no other
// exception, no crash, no sanitizer report).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/check.h"
#include "core/log.h"

namespace ldmg::fuzz {

inline void quiet() {
  static const bool once = [] {
    log::set_level(log::Level::error);
    log::set_stderr_level(log::Level::error);
    return true;
  }();
  (void)once;
}

inline std::string bytes(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace ldmg::fuzz

// Runs `body`; ldmg::Error is the expected way to reject a bad input, any
// other exception escapes and libFuzzer reports it as a crash.
#define LDMG_FUZZ_BODY(body)        \
  do {                              \
    ::ldmg::fuzz::quiet();          \
    try {                           \
      body;                         \
    } catch (const ::ldmg::Error&) { \
    }                               \
  } while (0)
