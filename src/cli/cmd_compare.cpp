// `ldmground compare`: several methods' summary.json (evaluate, score, sweep,
// analyze) side by side in the paper's Table I layout.
#include <iostream>

#include "analysis/method_comparison.h"
#include "cli/options.h"
#include "core/check.h"

namespace ldmg::cli {

int run_compare(int argc, char** argv) {
  po::options_description desc("compare options");
  add_common_options(desc);
  desc.add_options()
      ("summary", po::value<std::vector<std::string>>()->composing(), "[LABEL=]PATH: a summary.json or a folder "
       "holding one (positional, repeatable; one column group each, in this order)")
      ("out", po::value<std::string>()->required(), "output folder: compare.md, compare.csv, compare.json");
  po::positional_options_description pos;
  pos.add("summary", -1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: ldmground compare --out OUT [LABEL=]RUN [LABEL=]RUN ...\n\nPuts the summary.json of "
                     "several runs or scorings (evaluate, score, sweep's results/T<T>/<config>/, analyze's\n"
                     "OUT/T<T>/<config>/) next to each other: Table I layout, one column group per method.",
                     desc, vm, &pos))
    return 0;
  apply_common_options(vm);
  LDMG_CHECK(vm.count("summary"), "compare: give at least one [LABEL=]PATH");
  std::vector<analysis::MethodSummary> methods;
  for (const auto& s : vm["summary"].as<std::vector<std::string>>()) methods.push_back(analysis::read_method_summary(s));
  const auto tables = analysis::compare_methods(methods);
  const std::string out = vm["out"].as<std::string>();
  analysis::write_comparison(out, tables);
  std::cout << tables.markdown;
  std::cout << fmt::format("compare: {} method(s) -> {}/compare.md, compare.csv, compare.json\n", methods.size(), out);
  return 0;
}

}  // namespace ldmg::cli
