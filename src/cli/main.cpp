// ldmground: one binary, subcommands listed in commands.cpp.
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cstring>
#include <exception>
#include <iostream>

#include "cli/command.h"
#include "core/check.h"
#include "core/log.h"
#include "core/version.h"

namespace {

void print_usage() {
  std::cout << "ldmground " << ldmg::version_string()
            << " -- zero-shot phrase grounding in chest X-rays with a frozen latent diffusion model\n\n"
               "usage: ldmground <command> [options]   (ldmground <command> --help for its options)\n\ncommands:\n";
  for (const auto& c : ldmg::cli::commands()) std::cout << "  " << c.name << std::string(12 - std::strlen(c.name), ' ') << c.summary << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "ldmground " << ldmg::version_string() << "\nLibTorch " << TORCH_VERSION
              << ", CUDA built in: " << (LDMG_HAVE_CUDA ? "yes" : "no") << ", NCCL built in: "
              << (LDMG_HAVE_NCCL ? "yes" : "no") << "\n(`ldmground env` lists devices, versions and threads)\n";
    return 0;
  }
  for (const auto& c : ldmg::cli::commands()) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const ldmg::Interrupted& e) {
      ldmg::log::warn("interrupted: {}", e.what());
      return 75;  // EX_TEMPFAIL: "resume me"
    } catch (const ldmg::Error& e) {
      ldmg::log::error("{}", e.what());
      return 1;
    } catch (const c10::Error& e) {  // LibTorch's message, without its C++ backtrace
      ldmg::log::error("unexpected error in LibTorch: {}", e.what_without_backtrace());
      return 3;
    } catch (const std::exception& e) {
      ldmg::log::error("unexpected error: {}", e.what());
      return 3;
    }
  }
  std::cerr << "ldmground: unknown command '" << argv[1] << "'\n\n";
  print_usage();
  return 2;
}
