// Process-level tests of the runner's sweep building blocks (no mpiexec):
// content-named work units, the ledger (also after kill -9), the run-folder
// lock across processes, stop signals, device/thread helpers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "core/check.h"
#include "core/sha256.h"
#include "support/fixtures.h"
#include "sweep/ledger.h"
#include "sweep/mpi_env.h"
#include "sweep/run_lock.h"
#include "sweep/signals.h"
#include "sweep/work_unit.h"

namespace fs = std::filesystem;
using namespace ldmg::sweep;

namespace {

UnitKey sample_key() {
  UnitKey k;
  k.image_sha256 = ldmg::sha256_hex("fake image bytes");
  k.prompts = {"Left pleural effusion", "a: b\nc"};
  k.T = 300;
  k.inversion = "trailing/library/faithful";
  k.model_digest = "sha256:0123abcd";
  k.cache = "none";
  k.code_version = "v0.1.0-12-gabcdef";
  return k;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void append_raw(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << bytes;
}

LedgerRecord rec(const std::string& id, UnitStatus s, const std::string& time, const std::string& error = "") {
  LedgerRecord r;
  r.unit_id = id;
  r.status = s;
  r.error = error;
  r.seconds = 1.5;
  r.time = time;
  return r;
}

}  // namespace

// ---- work units -------------------------------------------------------------

TEST(UnitId, CanonicalBytesAreTheDocumentedSerialization) {
  // Written by hand from the format in work_unit.h.
  const std::string expected =
      "ldmg.work_unit.v1\n"
      "image_sha256:64:43044b9f977ef333aa328b242d0e9ff0f9fed13e1c77abdd5ff12dd8edac5dd5\n"
      "prompts:2\n"
      "prompt:21:Left pleural effusion\n"
      "prompt:6:a: b\nc\n"
      "T:3:300\n"
      "inversion:25:trailing/library/faithful\n"
      "model:15:sha256:0123abcd\n"
      "cache:4:none\n"
      "code:17:v0.1.0-12-gabcdef\n";
  EXPECT_EQ(canonical_unit_bytes(sample_key()), expected);
  EXPECT_EQ(unit_id(sample_key()), ldmg::sha256_hex(expected).substr(0, kUnitIdHexChars));
  // The same bytes hashed by Python's hashlib: a fixed id, stable across runs and machines.
  EXPECT_EQ(unit_id(sample_key()), "2a79c060968e1c5fa4953435");
}

TEST(UnitId, EveryFieldChangesTheId) {
  const std::string base = unit_id(sample_key());
  EXPECT_EQ(base.size(), kUnitIdHexChars);
  EXPECT_EQ(unit_id(sample_key()), base);
  std::vector<UnitKey> variants(10, sample_key());
  variants[0].image_sha256 = ldmg::sha256_hex("other image");
  variants[1].prompts[0] = "Right pleural effusion";
  variants[2].prompts = {sample_key().prompts[1], sample_key().prompts[0]};  // order matters
  variants[3].prompts.pop_back();
  variants[4].T = 200;
  variants[5].inversion = "leading/library/faithful";
  variants[6].model_digest = "sha256:0123abce";
  variants[7].cache = "hdf5";
  variants[8].code_version = "v0.1.0-13-g123456";
  variants[9].prompts = {"Left pleural effusiona: b", "\nc"};  // same concatenation, other split
  std::set<std::string> ids{base};
  for (const auto& v : variants) ids.insert(unit_id(v));
  EXPECT_EQ(ids.size(), variants.size() + 1);
}

TEST(UnitId, RejectsABadImageDigest) {
  UnitKey k = sample_key();
  k.image_sha256 = "ABC";
  EXPECT_THROW(unit_id(k), ldmg::Error);
  k.image_sha256 = std::string(64, 'G');
  EXPECT_THROW(unit_id(k), ldmg::Error);
}

// ---- ledger -----------------------------------------------------------------

TEST(Ledger, LineRoundTripAndValidation) {
  LedgerRecord r = rec("abc", UnitStatus::failed, "2024-05-01T12:00:00.123456Z", "CUDA out of memory \"x\"\n");
  r.rank = 2;
  const std::string line = format_ledger_line(r);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);  // one line, even with '\n' in the error
  const LedgerRecord back = parse_ledger_line(line.substr(0, line.size() - 1));
  EXPECT_EQ(back.unit_id, "abc");
  EXPECT_EQ(back.status, UnitStatus::failed);
  EXPECT_EQ(back.error, r.error);
  EXPECT_DOUBLE_EQ(back.seconds, 1.5);
  EXPECT_EQ(back.rank, 2);
  EXPECT_EQ(back.time, r.time);
  const std::string t = R"("time":"2024-05-01T12:00:00.123456Z")";
  EXPECT_THROW(parse_ledger_line(R"({"unit":"a","status":"done","error":"","seconds":1,"rank":0,)" + t + "}"),
               ldmg::Error);
  EXPECT_THROW(parse_ledger_line(R"({"unit":"a","status":"ok","error":"","rank":0,)" + t + "}"), ldmg::Error);
  EXPECT_THROW(parse_ledger_line(R"({"unit":"a","status":"ok","error":"","seconds":1,"rank":0,"time":"x"})"),
               ldmg::Error);
  EXPECT_THROW(parse_ledger_line("[1,2]"), ldmg::Error);
  EXPECT_THROW(parse_ledger_line("{\"unit\":"), ldmg::Error);
}

TEST(Ledger, LatestStatusAcrossRanksAndRuns) {
  const fs::path run = ldmg::test::temp_dir("ledger_latest");
  EXPECT_TRUE(read_ledgers(run).latest.empty());  // no ledger folder yet
  {
    LedgerWriter w0(run, 0), w2(run, 2);  // an earlier run with 3 ranks (rank 1 did nothing)
    w0.append(rec("u1", UnitStatus::failed, "2024-05-01T10:00:00.000000Z", "boom"));
    w2.append(rec("u2", UnitStatus::ok, "2024-05-01T10:00:01.000000Z"));
    w2.append(rec("u3", UnitStatus::failed, "2024-05-01T10:00:02.000000Z", "bad"));
  }
  {
    LedgerWriter w1(run, 1);  // a later run with 2 ranks retries u1
    w1.append(rec("u1", UnitStatus::ok, "2024-05-01T11:00:00.000000Z"));
  }
  {
    LedgerWriter w0(run, 0);  // and u2 failed on a re-run: the latest record wins, whatever the file
    w0.append(rec("u2", UnitStatus::failed, "2024-05-01T11:00:05.000000Z", "late"));
    w0.append(rec("u4", UnitStatus::ok, ""));  // time filled in by the writer
  }
  const LedgerState s = read_ledgers(run);
  EXPECT_EQ(s.records, 6u);
  EXPECT_EQ(s.skipped, 0u);
  EXPECT_EQ(s.status("u1"), UnitStatus::ok);
  EXPECT_EQ(s.latest.at("u1").rank, 1);
  EXPECT_EQ(s.status("u2"), UnitStatus::failed);
  EXPECT_EQ(s.latest.at("u2").error, "late");
  EXPECT_EQ(s.status("u3"), UnitStatus::failed);
  EXPECT_EQ(s.status("u4"), UnitStatus::ok);
  EXPECT_EQ(s.latest.at("u4").time.size(), 27u);
  EXPECT_EQ(s.status("u5"), std::nullopt);

  const std::vector<std::string> ids{"u1", "u2", "u3", "u4", "u5"};
  EXPECT_EQ(units_to_run(ids, s, false), (std::vector<std::size_t>{4}));
  EXPECT_EQ(units_to_run(ids, s, true), (std::vector<std::size_t>{1, 2, 4}));
  EXPECT_TRUE(should_run(std::nullopt, false));
  EXPECT_FALSE(should_run(UnitStatus::ok, true));
  EXPECT_FALSE(should_run(UnitStatus::failed, false));
  EXPECT_TRUE(should_run(UnitStatus::failed, true));
}

TEST(Ledger, TornLastLineIgnoredThenCutByTheNextWriter) {
  const fs::path run = ldmg::test::temp_dir("ledger_torn");
  {
    LedgerWriter w(run, 0);
    w.append(rec("u1", UnitStatus::ok, ""));
    w.append(rec("u2", UnitStatus::ok, ""));
  }
  const fs::path file = ledger_file(run, 0);
  append_raw(file, R"({"unit":"u3","status":"o)");  // what a crash mid-write leaves
  LedgerState s = read_ledgers(run);
  EXPECT_EQ(s.records, 2u);
  EXPECT_EQ(s.skipped, 1u);
  EXPECT_EQ(s.status("u3"), std::nullopt);
  {
    LedgerWriter w(run, 0);  // cuts the torn line
    w.append(rec("u3", UnitStatus::failed, "", "x"));
  }
  s = read_ledgers(run);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(s.skipped, 0u);
  EXPECT_EQ(s.status("u3"), UnitStatus::failed);
  // A bad line that is not the last one is an error naming file and line.
  append_raw(file, "garbage\n");
  append_raw(file, format_ledger_line(rec("u4", UnitStatus::ok, "2024-05-01T11:00:05.000000Z")));
  try {
    read_ledgers(run);
    FAIL() << "a bad middle line was accepted";
  } catch (const ldmg::Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string() + " line 4"), std::string::npos) << e.what();
  }
}

TEST(Ledger, SurvivesKill9OfTheWriter) {
  const fs::path run = ldmg::test::temp_dir("ledger_kill");
  const fs::path file = ledger_file(run, 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      LedgerWriter w(run, 0);
      for (long i = 0;; ++i)
        w.append(rec("unit" + std::to_string(i), i % 3 ? UnitStatus::ok : UnitStatus::failed, "",
                     i % 3 ? "" : "failed on purpose"));
    } catch (...) {
    }
    _exit(3);
  }
  // Kill it once it has written a few hundred records.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t lines = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string t = slurp(file);
    lines = static_cast<std::size_t>(std::count(t.begin(), t.end(), '\n'));
    if (lines >= 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer ended before the kill";
  ASSERT_GE(lines, 200u);

  LedgerState s = read_ledgers(run);
  EXPECT_GE(s.records, lines);
  EXPECT_LE(s.skipped, 1u);
  for (std::size_t i = 0; i < s.records; ++i)  // every complete record, with its status
    EXPECT_EQ(s.status("unit" + std::to_string(i)), i % 3 ? UnitStatus::ok : UnitStatus::failed) << i;

  // The kill rarely lands inside write(2); tear the last record as a crash would.
  const auto size = fs::file_size(file);
  fs::resize_file(file, size - 7);
  const std::size_t complete = s.records;
  s = read_ledgers(run);
  EXPECT_EQ(s.records, complete - 1);
  EXPECT_EQ(s.skipped, 1u);
}

// ---- run lock ---------------------------------------------------------------

namespace {
// Runs `fn` in a child process; returns its exit code and what it wrote to the pipe.
std::pair<int, std::string> in_child(const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, "pipe failed"};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int code = 0;
    std::string msg;
    try {
      msg = fn();
    } catch (const ldmg::Error& e) {
      msg = e.what();
      code = 1;
    }
    if (write(fds[1], msg.data(), msg.size()) < 0) code = 2;
    _exit(code);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}
}  // namespace

TEST(RunLock, SecondSweepIsRefusedWithTheHolderNamed) {
  const fs::path run = fs::path(ldmg::test::temp_dir("run_lock")) / "run";
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  auto try_lock = [&] {
    RunLock lock(run);
    return std::string("locked");
  };
  {
    RunLock held(run);
    EXPECT_TRUE(fs::exists(run / ".lock"));
    auto [code, msg] = in_child(try_lock);
    EXPECT_EQ(code, 1) << msg;
    EXPECT_NE(msg.find(run.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("pid=" + std::to_string(getpid())), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::string("host=") + host), std::string::npos) << msg;
  }
  auto [code, msg] = in_child(try_lock);  // released
  EXPECT_EQ(code, 0) << msg;
  EXPECT_EQ(msg, "locked");
}

TEST(RunLock, ReleasedWhenTheHolderIsKilled) {
  const fs::path run = ldmg::test::temp_dir("run_lock_kill");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    RunLock lock(run);
    (void)!write(fds[1], "x", 1);
    for (;;) pause();
  }
  char c;
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  EXPECT_THROW(RunLock{run}, ldmg::Error);
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  EXPECT_NO_THROW(RunLock{run});
  close(fds[0]);
  close(fds[1]);
}

// ---- signals ----------------------------------------------------------------

TEST(Signals, StopSignalsSetTheFlag) {
  static_assert(kResumeExitCode == 75);
  install_stop_handlers();
  install_stop_handlers();  // idempotent
  clear_stop_request();
  EXPECT_FALSE(stop_requested());
  std::raise(SIGUSR1);
  EXPECT_TRUE(stop_requested());
  EXPECT_EQ(stop_signal(), SIGUSR1);
  std::raise(SIGTERM);  // the first signal is the one reported
  EXPECT_EQ(stop_signal(), SIGUSR1);
  clear_stop_request();
  EXPECT_FALSE(stop_requested());
  std::raise(SIGTERM);
  EXPECT_EQ(stop_signal(), SIGTERM);
  clear_stop_request();
  EXPECT_STREQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(signal_name(SIGUSR1), "SIGUSR1");
  EXPECT_STREQ(signal_name(SIGINT), "SIGINT");
  EXPECT_STREQ(signal_name(1234), "signal 1234");
}

TEST(Signals, SecondCtrlCStopsAtOnce) {
  auto once = in_child([] {
    install_stop_handlers();
    std::raise(SIGINT);
    return std::string(stop_requested() ? "stop" : "none");
  });
  EXPECT_EQ(once.first, 0);
  EXPECT_EQ(once.second, "stop");
  auto twice = in_child([] {
    install_stop_handlers();
    std::raise(SIGINT);
    std::raise(SIGINT);
    return std::string("survived");
  });
  EXPECT_EQ(twice.first, 128 + SIGINT);
}

// ---- devices and threads ----------------------------------------------------

TEST(Devices, RanksShareGpusAndCores) {
  EXPECT_EQ(choose_device(0, 0), "cpu");
  EXPECT_EQ(choose_device(5, -1), "cpu");
  EXPECT_EQ(choose_device(0, 4), "cuda:0");
  EXPECT_EQ(choose_device(3, 4), "cuda:3");
  EXPECT_EQ(choose_device(5, 4), "cuda:1");
  EXPECT_THROW(choose_device(-1, 4), ldmg::Error);
  EXPECT_EQ(threads_per_rank(16, 4), 4);
  EXPECT_EQ(threads_per_rank(16, 3), 5);
  EXPECT_EQ(threads_per_rank(2, 3), 1);  // never 0, never more than the node has
  EXPECT_EQ(threads_per_rank(8, 0), 8);
}
