#include "core/check.h"

#include <cstring>

namespace ldmg::detail {

namespace {
const char* basename_of(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}
}  // namespace

void throw_error(const char* file, int line, const std::string& msg) {
  // The message is for the user; file:line helps us when they paste it.
  throw Error(fmt::format("{} [{}:{}]", msg, basename_of(file), line));
}

void assert_fail(const char* file, int line, const char* cond, const std::string& msg) {
  throw std::logic_error(fmt::format("internal error: {} ({}) at {}:{} -- please report", msg, cond,
                                     basename_of(file), line));
}

}  // namespace ldmg::detail
