#include "core/provenance.h"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "core/version.h"

namespace ldmg {

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Provenance make_provenance(int argc, char** argv) {
  Provenance p;
  p.version = version_string();
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) == 0) p.host = host;
  p.started_at = utc_now_iso8601();
  for (int i = 0; i < argc; ++i) p.command_line += (i ? " " : "ldmground ") + std::string(argv[i]);
  return p;
}

nlohmann::json Provenance::to_json() const {
  nlohmann::json j;
  j["tool"] = "ldmground";
  j["version"] = version;
  j["host"] = host;
  j["started_at"] = started_at;
  j["command_line"] = command_line;
  j["ranks"] = ranks;
  j["options"] = options;
  j["files"] = files;
  return j;
}

}  // namespace ldmg
