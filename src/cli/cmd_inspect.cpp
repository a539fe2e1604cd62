// `ldmground inspect FILE...`: what a weights file holds, validated.
#include <fmt/ranges.h>

#include <iostream>

#include "cli/options.h"
#include "core/check.h"
#include "io/tensor_archive.h"

namespace ldmg::cli {

int run_inspect(int argc, char** argv) {
  po::options_description desc("inspect options");
  add_common_options(desc);
  desc.add_options()("file", po::value<std::vector<std::string>>()->required(), "weights file(s)");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (!parse_options(argc, argv, "usage: ldmground inspect FILE...\n\nLists name, dtype, shape of every tensor "
                     "in a safetensors file or torch.save zip, after validating it.", desc, vm, &pos))
    return 0;
  apply_common_options(vm);
  for (const auto& path : vm["file"].as<std::vector<std::string>>()) {
    const io::TensorArchive ar = io::read_tensor_archive(path);
    const bool zip = io::looks_like_zip(ar.bytes);
    std::size_t total = 0;
    std::cout << path << " (" << (zip ? "torch.save zip" : "safetensors") << ", " << ar.tensors.size() << " tensors)\n";
    for (const auto& t : ar.tensors) {
      std::cout << fmt::format("  {}  {}  [{}]\n", t.name, io::dtype_name(t.dtype), fmt::join(t.shape, ","));
      total += static_cast<std::size_t>(io::numel_of(t.shape));
    }
    for (const auto& [k, v] : ar.metadata) std::cout << "  metadata " << k << " = " << v << "\n";
    std::cout << "  " << total << " elements\n";
  }
  return 0;
}

}  // namespace ldmg::cli
