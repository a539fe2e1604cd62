#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace ldmg {

Progress::Progress(std::string what, long total, double min_interval_s)
    : what_(std::move(what)), total_(total), min_interval_s_(min_interval_s), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

void Progress::update(long done, const std::string& note) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (done_ >= total_) {
    finish(note);
    return;
  }
  if (since >= (tty_ ? 0.2 : min_interval_s_)) {
    last_draw_ = now;
    draw(false, note);
  }
}

void Progress::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  draw(true, note);
}

void Progress::draw(bool final_line, const std::string& note) {
  const double el = elapsed_s();
  const double rate = el > 0 ? done_ / el : 0;
  const double eta = rate > 0 ? (total_ - done_) / rate : -1;
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * std::min<double>(1.0, double(done_) / total_)) : width;
  std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  std::string line = fmt::format("{} [{}] {}/{} {:.1f}% {:.3g}/s elapsed {} ETA {}{}{}", what_, bar, done_, total_,
                                 total_ > 0 ? 100.0 * done_ / total_ : 100.0, rate, format_duration(el),
                                 final_line ? "0s" : format_duration(eta), note.empty() ? "" : "  ", note);
  if (tty_)
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final_line ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace ldmg
