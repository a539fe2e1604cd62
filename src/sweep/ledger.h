#pragma once
// The run ledger: which work units are done. Each rank appends to its own
// file <run>/ledger/rank<R>.jsonl, one JSON object per line, fsync'ed after
// every record, so a kill -9 loses at most the unit in progress. Reading
// merges the files of every earlier run, whatever its rank count.
//   {"unit":"<id>","status":"ok"|"failed","error":"...","seconds":12.5,
//    "rank":3,"time":"2024-05-01T12:00:00.123456Z"}
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ldmg::sweep {

enum class UnitStatus { ok, failed };
const char* to_string(UnitStatus s);

struct LedgerRecord {
  std::string unit_id;
  UnitStatus status = UnitStatus::ok;
  std::string error;   // empty when ok
  double seconds = 0;  // wall time of the unit (batched: its share, the batch's time over its units)
  int rank = 0;        // the rank that ran it
  std::string time;    // UTC ISO 8601 with microseconds; LedgerWriter fills it if empty
};

std::filesystem::path ledger_dir(const std::filesystem::path& run_dir);
std::filesystem::path ledger_file(const std::filesystem::path& run_dir, int rank);

// One JSON line (with its '\n') / the record of one line (throws ldmg::Error).
std::string format_ledger_line(const LedgerRecord& r);
LedgerRecord parse_ledger_line(const std::string& line);

class LedgerWriter {
 public:
  // Opens <run>/ledger/rank<R>.jsonl for appending (creating folders). A torn
  // last line left by a crash is cut off first (with a warning), so the next
  // record starts on a line of its own.
  LedgerWriter(const std::filesystem::path& run_dir, int rank);
  ~LedgerWriter();
  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  // One write(2) of the whole line (O_APPEND), then fsync(2).
  void append(LedgerRecord r);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  int rank_ = 0;
};

struct LedgerState {
  std::map<std::string, LedgerRecord> latest;  // per unit id, the latest record
  std::size_t records = 0;                     // lines read
  std::size_t skipped = 0;                     // torn last lines ignored
  std::optional<UnitStatus> status(const std::string& unit_id) const;
};

// Reads every <run>/ledger/rank*.jsonl (none: empty state). The latest record
// of a unit is the one with the greatest time, later lines winning ties. A
// file's last line that is torn (no '\n' or not a record) is ignored with a
// warning; a bad line anywhere else is an error naming file and line.
LedgerState read_ledgers(const std::filesystem::path& run_dir);

// Whether a unit must be (re)done: never recorded -> yes; ok -> no;
// failed -> only with --retry-failed.
bool should_run(std::optional<UnitStatus> latest, bool retry_failed);
// The indices of `unit_ids` to (re)do, in order.
std::vector<std::size_t> units_to_run(const std::vector<std::string>& unit_ids, const LedgerState& state,
                                      bool retry_failed);

}  // namespace ldmg::sweep
