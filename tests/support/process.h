#pragma once
// Starting real server processes (kubelite, s3rver, azurite, arca server) from tests and benchmarks.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace testsupport {

// A child process started with argv; its stdout and stderr go to `log_path`. The destructor kills it
// (SIGTERM, then SIGKILL after a grace period) so a failing test never leaves servers behind.
class ChildProcess {
 public:
  ChildProcess() = default;
  // `err_path` non-empty: stderr goes there instead of into the log (a CLI whose two streams a test checks apart).
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::map<std::string, std::string>& extra_env = {}, const std::string& err_path = "");
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

// Polls `done` every `poll` until it returns true or `timeout` passes; whether it did. The one way tests wait on a
// condition: with a deadline, never a fixed sleep.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(100));

// A command run to completion, e.g. the `arca` CLI or kubectl.
struct CommandResult {
  int exit_code = -1;  // -1: killed at its timeout; 128+N: killed by signal N
  std::string out, err;
  std::string output;  // out then err, for checks that do not care which stream said it
};
// Runs `argv` with stdout and stderr kept in files under `dir` (numbered, so a failing test's commands can be read
// afterwards); killed (its whole process group) if it has not exited after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const TempDir& dir,
                          std::chrono::seconds timeout = std::chrono::seconds(60));

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
std::string arca_binary();      // the built `arca` CLI/server
std::string kubelite_binary();  // the built kubelite

}  // namespace testsupport
