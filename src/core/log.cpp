#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/check.h"

namespace ldmg::log {

namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
std::string g_prefix;
std::FILE* g_file = nullptr;
std::atomic<Level> g_stderr_min{Level::debug};
}  // namespace

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }
void set_prefix(std::string prefix) {
  std::lock_guard lock(g_mutex);
  g_prefix = std::move(prefix);
}

void set_file(const std::string& path) {
  std::FILE* f = nullptr;
  if (!path.empty()) {
    f = std::fopen(path.c_str(), "a");
    LDMG_CHECK(f != nullptr, "cannot open log file '{}' for appending: {}", path, std::strerror(errno));
    std::setvbuf(f, nullptr, _IOLBF, 0);
  }
  std::lock_guard lock(g_mutex);
  if (g_file) std::fclose(g_file);
  g_file = f;
}

void set_stderr_level(Level min) { g_stderr_min = min; }

void write(Level l, const std::string& msg) {
  static const char* names[] = {"debug", "info", "warn", "error"};
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  const std::string line = g_prefix.empty()
                               ? fmt::format("[{} {}] {}\n", stamp, names[static_cast<int>(l)], msg)
                               : fmt::format("[{} {} {}] {}\n", stamp, g_prefix, names[static_cast<int>(l)], msg);
  if (l >= g_stderr_min) std::fputs(line.c_str(), stderr);
  if (g_file) std::fputs(line.c_str(), g_file);
}

}  // namespace ldmg::log
