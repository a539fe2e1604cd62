#include "analysis/search_space.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "analysis/job_ini.h"
#include "core/check.h"

namespace ldmg::analysis {

namespace {
std::vector<std::string> alternatives(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string a;
  while (std::getline(ss, a, '|'))
    if (!trim(a).empty()) out.push_back(trim(a));
  return out;
}
}  // namespace

std::string heatmap_spec(const pipeline::HeatmapConfig& c) {
  const std::string w = c.window_begin ? fmt::format("{}:{}", *c.window_begin, *c.window_end) : "paper";
  const std::string t = c.tokens == pipeline::TokenMode::all         ? "all"
                        : c.tokens == pipeline::TokenMode::pathology ? "pathology"
                                                                   : fmt::format("{}:{}", c.token_begin, c.token_end);
  return fmt::format("layers={};window={};tokens={};otsu={};sigma={};order={}", fmt::join(c.layers, ","), w, t,
                     c.otsu ? "on" : "off", c.sigma,
                     c.order == grounding::TokenOrder::MeanThenNormalise ? "code" : "paper");
}

std::vector<pipeline::HeatmapConfig> parse_search_space(const std::string& text, const std::string& what) {
  const JobIni ini = JobIni::parse(text, what);
  static const std::set<std::string> known = {"layers", "window", "window-start", "window-length",
                                              "tokens", "otsu",   "sigma",        "order"};
  auto values = [&](const std::string& key, const std::string& fallback) {
    std::vector<std::string> out;
    for (const auto& line : ini.all(key))
      for (const auto& a : alternatives(line)) out.push_back(a);
    if (out.empty() && !fallback.empty()) out.push_back(fallback);
    return out;
  };
  // Unknown keys: JobIni keeps every key; check them against the list.
  for (const auto& line : [&] {
         std::vector<std::string> keys;
         std::istringstream in(text);
         std::string l;
         while (std::getline(in, l)) {
           const auto h = l.find('#');
           const std::string t = trim(h == std::string::npos ? l : l.substr(0, h));
           if (!t.empty()) keys.push_back(trim(t.substr(0, t.find('='))));
         }
         return keys;
       }())
    LDMG_CHECK(known.count(line), "{}: unknown key '{}' (expected layers, window, window-start, window-length, tokens, "
               "otsu, sigma, order)", what, line);
  std::vector<std::string> windows = values("window", "");
  const auto starts = values("window-start", ""), lengths = values("window-length", "");
  LDMG_CHECK(starts.empty() == lengths.empty(), "{}: window-start and window-length go together", what);
  for (const auto& s : starts)
    for (const auto& l : lengths) windows.push_back(fmt::format("{}:{}", std::stoi(s), std::stoi(s) + std::stoi(l)));
  if (windows.empty()) windows.push_back("paper");
  std::vector<pipeline::HeatmapConfig> out;
  std::set<std::string> seen;
  for (const auto& layers : values("layers", "3,4,6,7"))
    for (const auto& window : windows)
      for (const auto& tokens : values("tokens", "all"))
        for (const auto& otsu : values("otsu", "on"))
          for (const auto& sigma : values("sigma", "2.5"))
            for (const auto& order : values("order", "code")) {
              pipeline::HeatmapConfig c;
              try {
                c = pipeline::make_heatmap_config(layers, window, tokens, otsu, std::stod(sigma), order);
              } catch (const std::exception& e) {
                LDMG_FAIL("{}: {}", what, e.what());
              }
              if (seen.insert(c.name()).second) out.push_back(c);
            }
  return out;
}

std::vector<pipeline::HeatmapConfig> parse_grid(const std::string& text, const std::string& what) {
  std::vector<pipeline::HeatmapConfig> out;
  std::set<std::string> seen;
  auto add = [&](const pipeline::HeatmapConfig& c) {
    if (seen.insert(c.name()).second) out.push_back(c);
  };
  const JobIni ini = JobIni::parse(text, what);
  if (ini.has("config")) {
    // A job file (a sweep job, search's best.ini): its main config when it
    // spells one out, then every 'config =' line; other keys are ignored.
    static const char* kMain[] = {"layers", "window", "tokens", "otsu", "sigma", "order"};
    if (std::any_of(std::begin(kMain), std::end(kMain), [&](const char* k) { return ini.has(k); }))
      add(pipeline::make_heatmap_config(ini.get_or("layers", "3,4,6,7"), ini.get_or("window", "paper"),
                                      ini.get_or("tokens", "all"), ini.get_or("otsu", "on"),
                                      std::stod(ini.get_or("sigma", "2.5")), ini.get_or("order", "code")));
    for (const auto& spec : ini.all("config")) {
      try {
        add(pipeline::parse_heatmap_spec(spec));
      } catch (const std::exception& e) {
        LDMG_FAIL("{}: config = {}: {}", what, spec, e.what());
      }
    }
  } else {
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const auto h = line.find('#');
      const std::string t = trim(h == std::string::npos ? line : line.substr(0, h));
      if (t.empty()) continue;
      try {
        add(pipeline::parse_heatmap_spec(t));
      } catch (const std::exception& e) {
        LDMG_FAIL("{} line {}: {}", what, n, e.what());
      }
    }
  }
  LDMG_CHECK(!out.empty(), "{}: no heatmap config (one spec per line, e.g. 'layers=3,4,6,7;window=paper', or "
             "'config = SPEC' lines)", what);
  return out;
}

}  // namespace ldmg::analysis
