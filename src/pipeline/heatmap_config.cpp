#include "pipeline/heatmap_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>

#include "core/check.h"

namespace ldmg::pipeline {

namespace {
int parse_int(const std::string& s, const std::string& what) {
  std::size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LDMG_CHECK(used == s.size() && !s.empty(), "{}: '{}' is not an integer", what, s);
  return v;
}

std::pair<int, int> parse_range(const std::string& s, const std::string& what) {
  const auto colon = s.find(':');
  LDMG_CHECK(colon != std::string::npos, "{}: expected 'A:B' (half-open), got '{}'", what, s);
  const int a = parse_int(s.substr(0, colon), what), b = parse_int(s.substr(colon + 1), what);
  LDMG_CHECK(0 <= a && a < b, "{}: need 0 <= A < B, got {}:{}", what, a, b);
  return {a, b};
}
}  // namespace

std::string HeatmapConfig::name() const {
  std::string w = window_begin ? fmt::format("{}-{}", *window_begin, *window_end) : "paper";
  std::string t = tokens == TokenMode::all ? "all"
                  : tokens == TokenMode::pathology ? "pathology"
                                                   : fmt::format("{}-{}", token_begin, token_end);
  return fmt::format("L{}_W{}_T{}_{}_s{}_{}", fmt::join(layers, ","), w, t, otsu ? "otsu" : "nootsu", sigma,
                     order == grounding::TokenOrder::MeanThenNormalise ? "code" : "paper");
}

std::pair<int, int> HeatmapConfig::window(int T, int num_steps) const {
  int b = 0, e = 0;
  if (window_begin) {
    b = *window_begin;
    e = *window_end;
  } else {
    b = T / 2 - 10 * T / 100;  // Python precedence: (10*T)//100
    e = T / 2 + 10 * T / 100;
  }
  LDMG_CHECK(0 <= b && b < e && e <= num_steps, "step window [{}, {}) does not fit the {} inversion steps of T={}", b,
             e, num_steps, T);
  return {b, e};
}

std::vector<int> parse_layers(const std::string& text, int num_layers) {
  std::vector<int> out;
  if (text == "all") {
    for (int i = 0; i < num_layers; ++i) out.push_back(i);
    return out;
  }
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const int v = parse_int(item, "--layers");
    LDMG_CHECK(v >= 0 && v < num_layers, "--layers: {} is not an attn2 layer index (0..{})", v, num_layers - 1);
    out.push_back(v);
  }
  LDMG_CHECK(!out.empty(), "--layers: empty list");
  std::sort(out.begin(), out.end());
  LDMG_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), "--layers: '{}' repeats a layer", text);
  return out;
}

HeatmapConfig make_heatmap_config(const std::string& layers, const std::string& window, const std::string& tokens,
                                  const std::string& otsu, double sigma, const std::string& order) {
  HeatmapConfig c;
  c.layers = parse_layers(layers);
  if (window != "paper") {
    const auto [a, b] = parse_range(window, "--window");
    c.window_begin = a;
    c.window_end = b;
  }
  if (tokens == "all") c.tokens = TokenMode::all;
  else if (tokens == "pathology") c.tokens = TokenMode::pathology;
  else {
    const auto [a, b] = parse_range(tokens, "--tokens");
    c.tokens = TokenMode::slice;
    c.token_begin = a;
    c.token_end = b;
  }
  LDMG_CHECK(otsu == "on" || otsu == "off", "--otsu: expected on or off, got '{}'", otsu);
  c.otsu = otsu == "on";
  LDMG_CHECK(sigma >= 0 && sigma < 100, "--sigma: expected 0 <= sigma < 100 (0 = no blur), got {}", sigma);
  c.sigma = sigma;
  LDMG_CHECK(order == "code" || order == "paper", "--order: expected code or paper, got '{}'", order);
  c.order = order == "code" ? grounding::TokenOrder::MeanThenNormalise : grounding::TokenOrder::NormaliseThenMean;
  return c;
}

HeatmapConfig parse_heatmap_spec(const std::string& spec) {
  std::string layers = "3,4,6,7", window = "paper", tokens = "all", otsu = "on", order = "code";
  double sigma = 2.5;
  std::stringstream ss(spec);
  std::string kv;
  while (std::getline(ss, kv, ';')) {
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    LDMG_CHECK(eq != std::string::npos, "heatmap config '{}': '{}' is not key=value", spec, kv);
    const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "layers") layers = v;
    else if (k == "window") window = v;
    else if (k == "tokens") tokens = v;
    else if (k == "otsu") otsu = v;
    else if (k == "order") order = v;
    else if (k == "sigma") {
      try {
        sigma = std::stod(v);
      } catch (const std::exception&) {
        LDMG_FAIL("heatmap config '{}': sigma '{}' is not a number", spec, v);
      }
    } else
      LDMG_FAIL("heatmap config '{}': unknown key '{}' (expected layers, window, tokens, otsu, sigma, order)", spec, k);
  }
  return make_heatmap_config(layers, window, tokens, otsu, sigma, order);
}

}  // namespace ldmg::pipeline
