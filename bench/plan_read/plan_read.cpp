// plan_read: one plan.json read both ways, in one process, alternating:
//   tree    plan_from_json(json::parse(<file bytes>)): the whole JSON tree
//           first (how status, analyze and report read it before);
//   stream  read_plan_file: one unit at a time (plan_reader.h).
// Prints, per way, the wall seconds (best and median of --repeat), the peak
// RSS above the RSS before the read (VmHWM, reset before each read, after
// malloc_trim) and the RSS still above it once read (the plan), and checks
// that both ways give the same plan (exit 1 if not).
// docs/running-at-scale.md has numbers.
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/file_bytes.h"
#include "pipeline/benchmark.h"
#include "sweep/plan_reader.h"
#include "sweep/sweep_plan.h"

namespace ldmg::bench {
namespace {

namespace po = boost::program_options;

struct Read {
  double seconds = 0;
  double peak_delta = 0;  // bytes
  double held = 0;        // bytes resident above `before` once read and trimmed: the plan itself
  std::size_t units = 0;
};

// The plan read is freed on return: each read starts from the same heap.
Read measure(const std::function<sweep::SweepPlan()>& read) {
  malloc_trim(0);
  LDMG_CHECK(pipeline::reset_peak_rss(), "plan_read: cannot reset the peak RSS (/proc/self/clear_refs)");
  const double before = double(pipeline::current_rss());
  const auto t0 = std::chrono::steady_clock::now();
  const sweep::SweepPlan plan = read();
  Read r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.peak_delta = double(pipeline::peak_rss()) - before;
  malloc_trim(0);  // what the read freed (the tree) leaves the count
  r.held = double(pipeline::current_rss()) - before;
  r.units = plan.units.size();
  return r;
}

bool same_plan(const sweep::SweepPlan& a, const sweep::SweepPlan& b) {
  if (a.Ts != b.Ts || a.pairs != b.pairs || sweep::settings_to_json(a.settings) != sweep::settings_to_json(b.settings) ||
      a.units.size() != b.units.size())
    return false;
  for (std::size_t i = 0; i < a.units.size(); ++i) {
    const sweep::SweepUnit &x = a.units[i], &y = b.units[i];
    if (x.id != y.id || x.T != y.T || x.image_path != y.image_path || x.path != y.path ||
        x.image_sha256 != y.image_sha256 || x.pairs != y.pairs)
      return false;
  }
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int run(int argc, char** argv) {
  po::options_description desc("plan_read options");
  desc.add_options()("help", "this help")("plan", po::value<std::string>()->required(),
                                          "a plan.json (e.g. a sweep_scale --keep run's)")(
      "repeat", po::value<int>()->default_value(3), "reads per way (alternating)");
  po::positional_options_description pos;
  pos.add("plan", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: plan_read [--plan] PLAN.json [--repeat 3]\n" << desc;
    return 0;
  }
  po::notify(vm);
  const std::string path = vm["plan"].as<std::string>();
  const int repeat = vm["repeat"].as<int>();
  LDMG_CHECK(repeat >= 1, "--repeat must be >= 1");

  const auto tree = [&] { return sweep::plan_from_json(nlohmann::json::parse(io::read_file_bytes(path)), path); };
  const auto stream = [&] { return sweep::read_plan_file(path); };
  std::vector<double> t_tree, t_stream, m_tree, m_stream, h_tree, h_stream;
  std::size_t units = 0;
  for (int i = 0; i < repeat; ++i) {
    const Read s = measure(stream);
    const Read t = measure(tree);
    t_stream.push_back(s.seconds);
    m_stream.push_back(s.peak_delta);
    t_tree.push_back(t.seconds);
    m_tree.push_back(t.peak_delta);
    h_stream.push_back(s.held);
    h_tree.push_back(t.held);
    units = s.units;
  }
  const bool same = same_plan(tree(), stream());

  const auto mib = [](double b) { return b / (1024.0 * 1024.0); };
  fmt::print("{}: {} units, {:.1f} MiB\n", path, units, mib(double(std::filesystem::file_size(path))));
  fmt::print("{:<8} {:>10} {:>10} {:>16} {:>16}\n", "way", "best_s", "median_s", "peak_rss_delta", "held_after");
  const auto row = [&](const char* way, const std::vector<double>& t, const std::vector<double>& m,
                       const std::vector<double>& h) {
    fmt::print("{:<8} {:>10.3f} {:>10.3f} {:>12.0f} MiB {:>12.0f} MiB\n", way, *std::min_element(t.begin(), t.end()),
               median(t), mib(*std::max_element(m.begin(), m.end())), mib(median(h)));
  };
  row("tree", t_tree, m_tree, h_tree);
  row("stream", t_stream, m_stream, h_stream);
  fmt::print("same plan both ways: {}\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}

}  // namespace
}  // namespace ldmg::bench

int main(int argc, char** argv) {
  try {
    return ldmg::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "plan_read: " << e.what() << "\n";
    return 2;
  }
}
