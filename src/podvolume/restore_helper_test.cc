// arca-restore-helper keeps the init container running until every volume under the restores directory holds its
// done file for this restore's UID (another restore's file does not count), then removes the .velero directories
// and exits 0; without exactly one argument it exits 1 with Velero's message.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using testsupport::ChildProcess;
using testsupport::TempDir;

std::string helper() { return testsupport::build_dir() + "/src/podvolume/arca-restore-helper"; }

void touch(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << "";
}

TEST(RestoreHelper, WaitsForEveryVolumesDoneFileThenCleansUp) {
  TempDir dir;
  const std::string restores = dir.file("restores");
  std::filesystem::create_directories(restores + "/data");
  std::filesystem::create_directories(restores + "/cache");
  touch(restores + "/data/app.db");
  ChildProcess p({helper(), "uid-1"}, dir.file("helper.log"), {{"ARCA_RESTORES_DIR", restores}});
  // Not done while a volume lacks its file, nor with another restore's file.
  touch(restores + "/data/.velero/uid-1");
  touch(restores + "/cache/.velero/uid-0");
  ASSERT_TRUE(testsupport::eventually([&] { return p.log().find("Not found: " + restores + "/cache/.velero/uid-1") !=
                                                   std::string::npos; },
                                      10s))
      << p.log();
  EXPECT_TRUE(p.running());
  touch(restores + "/cache/.velero/uid-1");
  int status = p.wait(10s);
  ASSERT_NE(status, -1) << p.log();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(p.log().find("All fs restores are done"), std::string::npos);
  EXPECT_NE(p.log().find("Done cleanup .velero folder"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(restores + "/data/.velero"));
  EXPECT_FALSE(std::filesystem::exists(restores + "/cache/.velero"));
  EXPECT_TRUE(std::filesystem::exists(restores + "/data/app.db"));  // the restored data stays
}

TEST(RestoreHelper, NeedsExactlyTheRestoreUID) {
  TempDir dir;
  auto r = testsupport::run_command({helper()}, dir, 10s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "ERROR: exactly one argument must be provided, the restore's UID\n");
}

}  // namespace
