#pragma once
// A small seeded generator for the demo assets (SplitMix64, Steele et al.
// 2014): exactly specified, so the same seed gives the same images and
// sentences on every platform (std::normal_distribution is not specified).
#include <cmath>
#include <cstdint>

namespace ldmg::demo {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next_u64() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [lo, hi] (inclusive); the modulo bias is irrelevant here.
  int integer(int lo, int hi) { return lo + static_cast<int>(next_u64() % static_cast<std::uint64_t>(hi - lo + 1)); }
  // Standard normal (Box-Muller, one value per call).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // An independent stream derived from this one and a tag.
  Rng fork(std::uint64_t tag) { return Rng(next_u64() ^ (tag * 0xD1B54A32D192ED03ull)); }

 private:
  std::uint64_t state_;
};

}  // namespace ldmg::demo
