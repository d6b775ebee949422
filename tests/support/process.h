#pragma once
// Starting real server processes (kubelite, s3rver, azurite, arca server) from tests and benchmarks.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace testsupport {

// A child process started with argv; its stdout and stderr go to `log_path`. The destructor kills it
// (SIGTERM, then SIGKILL after a grace period) so a failing test never leaves servers behind.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::map<std::string, std::string>& extra_env = {});
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig`; with SIGKILL this is the "server crashed" case that tests of recovery need.
  void signal(int sig);
  // Waits for exit and returns the exit status (as from waitpid), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  void stop();
  const std::string& log_path() const { return log_path_; }
  std::string log() const;  // the whole log, for failure messages

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// A fresh empty directory under $TMPDIR (or /tmp), removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take port 0).
int free_port();
// Polls until a TCP connect to 127.0.0.1:port succeeds; false on timeout.
bool wait_for_port(int port, std::chrono::milliseconds timeout);
// Polls until `path` exists and is non-empty; false on timeout.
bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout);
std::string read_file(const std::string& path);

// Paths given by CMake through the environment (see arca_test in CMakeLists.txt).
std::string build_dir();     // ARCA_BUILD_DIR
std::string source_dir();    // ARCA_SOURCE_DIR
std::string fixtures_dir();  // ARCA_FIXTURES

}  // namespace testsupport
