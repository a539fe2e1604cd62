#pragma once
// "How was this made": every output carries it (STYLE.md §10).
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace ldmg {

struct Provenance {
  std::string version;     // git describe of the build
  std::string host;
  std::string started_at;  // ISO 8601 UTC
  std::string command_line;
  nlohmann::json options;                     // resolved options
  std::map<std::string, std::string> files;   // role -> "sha256:<hex> <path>"
  int ranks = 1;

  nlohmann::json to_json() const;
};

// Fills version, host, start time and the command line.
Provenance make_provenance(int argc, char** argv);
std::string utc_now_iso8601();

}  // namespace ldmg
