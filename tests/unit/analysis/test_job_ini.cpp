// The sweep's job.ini read back: its paths are as the sweep saw them
// (relative to where it started), so later commands look there first and
// then beside the run folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "analysis/job_ini.h"
#include "core/check.h"
#include "support/fixtures.h"

namespace ldmg::analysis {
namespace {

namespace fs = std::filesystem;

TEST(JobIni, ListsCommentsAndMissingKeys) {
  const JobIni job = JobIni::parse("# a comment\nsteps = 10\nT = 20\nT = 50\n  dataset =  data/ms_cxr.csv \n", "job.ini");
  EXPECT_EQ(job.get("steps"), "10");
  EXPECT_EQ(job.get("T"), "50");
  EXPECT_EQ(job.all("T"), (std::vector<std::string>{"20", "50"}));
  EXPECT_EQ(job.get("dataset"), "data/ms_cxr.csv");
  EXPECT_EQ(job.get_or("images", "none"), "none");
  try {
    (void)job.get("images");
    FAIL() << "no error for a missing key";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("job.ini"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("images"), std::string::npos) << e.what();
  }
  EXPECT_THROW(JobIni::parse("steps 10\n", "bad.ini"), Error);
}

TEST(JobIni, PathsAsTheSweepSawThemElseBesideTheRunFolder) {
  // <tmp>/project/{data/ms_cxr.csv, run/}: the sweep ran in <tmp>/project, a
  // later command runs elsewhere (this test's working directory).
  const fs::path project = fs::path(test::temp_dir("job_ini_paths")) / "project";
  fs::create_directories(project / "data");
  fs::create_directories(project / "run");
  std::ofstream(project / "data" / "ms_cxr.csv") << "x\n";
  const std::string run = (project / "run").string();
  const JobIni job = JobIni::parse("dataset = data/ms_cxr.csv\nimages = data/missing\nmodel-dir = " +
                                       (project / "data").string() + "\ngone = /nonexistent/ldmg/models\n",
                                   run + "/job.ini");
  ASSERT_FALSE(fs::exists("data/ms_cxr.csv")) << "the test needs a working directory without data/ms_cxr.csv";
  EXPECT_EQ(fs::path(job.path("dataset", run)), project / "data" / "ms_cxr.csv");
  EXPECT_EQ(fs::path(job.path("model-dir", run)), project / "data");  // absolute and there: as written
  EXPECT_EQ(job.path_or_as_written("dataset", run), job.path("dataset", run));
  // Neither place: path() names the file, the key, the value and the other place looked at.
  try {
    (void)job.path("images", run);
    FAIL() << "no error for a path that exists nowhere";
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const std::string& part : {run + "/job.ini", std::string("images"), std::string("data/missing"),
                                    project.string()})
      EXPECT_NE(m.find(part), std::string::npos) << m << "\n lacks: " << part;
  }
  EXPECT_THROW((void)job.path("gone", run), Error);
  EXPECT_THROW((void)job.path("absent-key", run), Error);
  // The lenient form: the value as written, or "" when the key is absent.
  EXPECT_EQ(job.path_or_as_written("images", run), "data/missing");
  EXPECT_EQ(job.path_or_as_written("gone", run), "/nonexistent/ldmg/models");
  EXPECT_EQ(job.path_or_as_written("absent-key", run), "");
}

}  // namespace
}  // namespace ldmg::analysis
