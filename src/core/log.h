#pragma once
// Minimal leveled logging to stderr, with an optional rank prefix for MPI runs.
#include <fmt/format.h>

#include <string>

namespace ldmg::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(Level level);
Level level();
void set_prefix(std::string prefix);  // e.g. "rank 2/4"
// Also appends every message (at the current level) to `path`, line-buffered;
// empty path: stop. Throws ldmg::Error if the file cannot be opened.
void set_file(const std::string& path);
// Messages below `min` go only to the file, not to stderr (e.g. ranks other
// than 0 of a sweep keep stderr for warnings and errors).
void set_stderr_level(Level min);
void write(Level level, const std::string& msg);

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::warn) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ldmg::log
