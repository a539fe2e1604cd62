#pragma once
// A progress line with rate and ETA for long work (pairs, units, steps).
// On a terminal it redraws one line; otherwise (logs, CI) it prints at most
// every `min_interval_s` seconds and at the end.
#include <chrono>
#include <string>

namespace ldmg {

class Progress {
 public:
  Progress(std::string what, long total, double min_interval_s = 10.0);
  // Sets the number of finished items (monotone) with an optional note.
  void update(long done, const std::string& note = {});
  void finish(const std::string& note = {});
  double elapsed_s() const;

  // "1h02m", "3m05s", "12s"
  static std::string format_duration(double seconds);

 private:
  void draw(bool final_line, const std::string& note);
  std::string what_;
  long total_;
  long done_ = 0;
  double min_interval_s_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool finished_ = false;
};

}  // namespace ldmg
