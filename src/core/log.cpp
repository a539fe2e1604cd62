#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ldmg::log {

namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
std::string g_prefix;
}  // namespace

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }
void set_prefix(std::string prefix) {
  std::lock_guard lock(g_mutex);
  g_prefix = std::move(prefix);
}

void write(Level l, const std::string& msg) {
  static const char* names[] = {"debug", "info", "warn", "error"};
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  if (g_prefix.empty())
    std::fprintf(stderr, "[%s %s] %s\n", stamp, names[static_cast<int>(l)], msg.c_str());
  else
    std::fprintf(stderr, "[%s %s %s] %s\n", stamp, g_prefix.c_str(), names[static_cast<int>(l)], msg.c_str());
}

}  // namespace ldmg::log
