#include "sweep/ledger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/check.h"
#include "core/log.h"

namespace fs = std::filesystem;

namespace ldmg::sweep {

namespace {

std::string utc_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", std::string(buf, n), ts.tv_nsec / 1000);
}

bool is_timestamp(const std::string& t) {  // 2024-05-01T12:00:00.123456Z: fixed width, so it sorts as text
  return t.size() == 27 && t[4] == '-' && t[10] == 'T' && t[19] == '.' && t.back() == 'Z';
}

std::string errno_text() { return std::strerror(errno); }

void fsync_dir(const fs::path& dir) {  // makes a newly created file's name durable
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

const char* to_string(UnitStatus s) { return s == UnitStatus::ok ? "ok" : "failed"; }

fs::path ledger_dir(const fs::path& run_dir) { return run_dir / "ledger"; }
fs::path ledger_file(const fs::path& run_dir, int rank) {
  return ledger_dir(run_dir) / fmt::format("rank{}.jsonl", rank);
}

std::string format_ledger_line(const LedgerRecord& r) {
  nlohmann::ordered_json j;
  j["unit"] = r.unit_id;
  j["status"] = to_string(r.status);
  j["error"] = r.error;
  j["seconds"] = r.seconds;
  j["rank"] = r.rank;
  j["time"] = r.time;
  // Error texts may hold bytes that are not UTF-8 (paths, library messages).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

LedgerRecord parse_ledger_line(const std::string& line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("not JSON ({})", e.what());
  }
  LDMG_CHECK(j.is_object(), "not a JSON object");
  auto get = [&](const char* key, auto check, const char* what) -> const nlohmann::json& {
    auto it = j.find(key);
    LDMG_CHECK(it != j.end(), "no \"{}\" field", key);
    LDMG_CHECK(check(*it), "\"{}\" is not {}", key, what);
    return *it;
  };
  auto is_string = [](const nlohmann::json& v) { return v.is_string(); };
  LedgerRecord r;
  r.unit_id = get("unit", is_string, "a string").get<std::string>();
  LDMG_CHECK(!r.unit_id.empty(), "\"unit\" is empty");
  const auto status = get("status", is_string, "a string").get<std::string>();
  LDMG_CHECK(status == "ok" || status == "failed", "\"status\" is '{}', expected ok or failed", status);
  r.status = status == "ok" ? UnitStatus::ok : UnitStatus::failed;
  r.error = get("error", is_string, "a string").get<std::string>();
  r.seconds = get(
                  "seconds", [](const nlohmann::json& v) { return v.is_number(); }, "a number")
                  .get<double>();
  r.rank = get(
               "rank", [](const nlohmann::json& v) { return v.is_number_integer(); }, "an integer")
               .get<int>();
  r.time = get("time", is_string, "a string").get<std::string>();
  LDMG_CHECK(is_timestamp(r.time), "\"time\" is '{}', expected YYYY-MM-DDTHH:MM:SS.ffffffZ", r.time);
  return r;
}

LedgerWriter::LedgerWriter(const fs::path& run_dir, int rank) : path_(ledger_file(run_dir, rank)), rank_(rank) {
  LDMG_CHECK(rank >= 0, "ledger: rank {} is negative", rank);
  std::error_code ec;
  fs::create_directories(path_.parent_path(), ec);
  LDMG_CHECK(!ec, "cannot create the ledger folder {}: {}", path_.parent_path().string(), ec.message());
  const bool existed = fs::exists(path_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  LDMG_CHECK(fd_ >= 0, "cannot open the ledger {}: {}", path_.string(), errno_text());
  if (!existed) fsync_dir(path_.parent_path());

  // Cut a torn last line (a crash during write, or NULs after a power loss).
  struct stat st {};
  LDMG_CHECK(::fstat(fd_, &st) == 0, "cannot stat the ledger {}: {}", path_.string(), errno_text());
  off_t keep = st.st_size;
  char c = '\n';
  while (keep > 0 && ::pread(fd_, &c, 1, keep - 1) == 1 && c != '\n') --keep;
  if (keep != st.st_size) {
    log::warn("ledger {}: cutting a torn last line ({} bytes) left by an interrupted run", path_.string(),
              static_cast<long long>(st.st_size - keep));
    LDMG_CHECK(::ftruncate(fd_, keep) == 0 && ::fsync(fd_) == 0, "cannot repair the ledger {}: {}", path_.string(),
               errno_text());
  }
}

LedgerWriter::~LedgerWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void LedgerWriter::append(LedgerRecord r) {
  if (r.time.empty()) r.time = utc_now();
  r.rank = rank_;
  const std::string line = format_ledger_line(r);
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    LDMG_CHECK(n > 0, "cannot append to the ledger {}: {}", path_.string(), errno_text());
    done += static_cast<std::size_t>(n);
  }
  while (::fsync(fd_) != 0) {
    LDMG_CHECK(errno == EINTR, "cannot fsync the ledger {}: {}", path_.string(), errno_text());
  }
}

std::optional<UnitStatus> LedgerState::status(const std::string& unit_id) const {
  auto it = latest.find(unit_id);
  if (it == latest.end()) return std::nullopt;
  return it->second.status;
}

LedgerState read_ledgers(const fs::path& run_dir) {
  LedgerState state;
  const fs::path dir = ledger_dir(run_dir);
  if (!fs::is_directory(dir)) return state;
  static const std::regex name_re(R"(rank([0-9]+)\.jsonl)");
  std::vector<std::pair<long long, fs::path>> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && std::regex_match(name, m, name_re)) files.emplace_back(std::stoll(m[1]), e.path());
  }
  std::sort(files.begin(), files.end());

  for (const auto& [rank, path] : files) {
    std::ifstream in(path, std::ios::binary);
    LDMG_CHECK(in, "cannot read the ledger {}", path.string());
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    std::size_t pos = 0, line_no = 0;
    while (pos < text.size()) {
      ++line_no;
      const std::size_t nl = text.find('\n', pos);
      const bool terminated = nl != std::string::npos;
      const std::size_t end = terminated ? nl : text.size();
      const std::string line = text.substr(pos, end - pos);
      pos = terminated ? nl + 1 : text.size();
      const bool last = pos >= text.size();
      if (line.empty()) continue;
      try {
        if (!terminated) LDMG_FAIL("torn line (no end of line)");
        LedgerRecord r = parse_ledger_line(line);
        ++state.records;
        auto [it, inserted] = state.latest.try_emplace(r.unit_id, r);
        if (!inserted && r.time >= it->second.time) it->second = std::move(r);
      } catch (const Error& e) {
        LDMG_CHECK(last, "ledger {} line {}: {}", path.string(), line_no, e.what());
        log::warn("ledger {} line {}: ignoring the torn last line ({})", path.string(), line_no, e.what());
        ++state.skipped;
      }
    }
  }
  return state;
}

bool should_run(std::optional<UnitStatus> latest, bool retry_failed) {
  if (!latest) return true;
  return *latest == UnitStatus::failed && retry_failed;
}

std::vector<std::size_t> units_to_run(const std::vector<std::string>& unit_ids, const LedgerState& state,
                                      bool retry_failed) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < unit_ids.size(); ++i)
    if (should_run(state.status(unit_ids[i]), retry_failed)) out.push_back(i);
  return out;
}

}  // namespace ldmg::sweep
