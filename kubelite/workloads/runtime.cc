// Containers as local processes in bubblewrap sandboxes. The host's file system is the image, read-only: the
// sandbox root is a tmpfs holding read-only binds of the host's directories, split down to each volume's
// mountPath so that a volume can be mounted where the host has no such directory.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <map>
#include <mutex>
#include <set>

#include "kubelite/workloads/runtime.h"

namespace kubelite::workloads {

namespace {

namespace fs = std::filesystem;

bool under(const std::string& path, const std::string& dir) {
  return dir == "/" || path == dir || path.rfind(dir + "/", 0) == 0;
}

// Read-only binds of `host` at the same place, split where a mount path lies below it.
void add_tree(const std::string& dir, const std::vector<std::string>& mount_paths, std::vector<std::string>& args) {
  bool split = false;
  for (const auto& m : mount_paths)
    if (under(m, dir)) split = true;
  if (!split) {
    args.insert(args.end(), {"--ro-bind", dir, dir});
    return;
  }
  if (dir != "/") args.insert(args.end(), {"--dir", dir});
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string path = entry.path().string();
    std::string name = entry.path().filename().string();
    if (dir == "/" && (name == "proc" || name == "dev" || name == "sys" || name == "tmp")) continue;
    if (entry.is_symlink(ec)) {
      args.insert(args.end(), {"--symlink", fs::read_symlink(entry.path(), ec).string(), path});
    } else if (entry.is_directory(ec)) {
      bool exact = false;
      for (const auto& m : mount_paths) exact |= m == path;
      if (!exact) add_tree(path, mount_paths, args);
    } else if (entry.is_regular_file(ec)) {
      bool exact = false;
      for (const auto& m : mount_paths) exact |= m == path;
      if (!exact) args.insert(args.end(), {"--ro-bind", path, path});
    }
  }
}

// Where execvp would find argv[0] with this PATH, "" when nowhere (checked in the host root: the image).
std::string resolve(const std::string& program, const std::string& path_var) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0 ? program : "";
  size_t start = 0;
  while (start <= path_var.size()) {
    size_t end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    std::string candidate = path_var.substr(start, end - start) + "/" + program;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int fds[3]) {
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid > 0) setpgid(pid, pid);  // also here: the watchdog must find the group before the child runs
  if (pid != 0) return pid;
  // The child: dies with kubelite (even kill -9), in its own process group.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  setpgid(0, 0);
  for (int i = 0; i < 3; ++i)
    if (fds[i] >= 0) dup2(fds[i], i);
  for (int fd = 3; fd < 1024; ++fd) close(fd);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  execve(cargv[0], cargv.data(), cenv.data());
  _exit(127);
}

// The sandboxes must not outlive kubelite, even when it is killed with SIGKILL. The parent-death signal reaches
// bwrap, but not the first process of its PID namespace (a namespace's init ignores that signal), so a watchdog
// process learns each sandbox's process group through a pipe and kills them all when the pipe closes, which
// happens however kubelite ends. Forked before any thread starts; it only reads, kills and exits.
class Watchdog {
 public:
  Watchdog() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[1]);
      signal(SIGTERM, SIG_IGN);
      signal(SIGINT, SIG_IGN);
      pid_t groups[4096];
      size_t n = 0;
      pid_t pgid = 0;
      // Positive: a new sandbox; negative: one that kubelite has reaped (its id may be reused: forget it).
      while (read(fds[0], &pgid, sizeof pgid) == static_cast<ssize_t>(sizeof pgid)) {
        if (pgid > 0 && n < sizeof groups / sizeof groups[0]) groups[n++] = pgid;
        for (size_t i = 0; pgid < 0 && i < n; ++i)
          if (groups[i] == -pgid) groups[i--] = groups[--n];
      }
      for (size_t i = 0; i < n; ++i) kill(-groups[i], SIGKILL);
      _exit(0);
    }
    close(fds[0]);
    if (pid > 0) {
      fd_ = fds[1];
      pid_ = pid;
    } else {
      close(fds[1]);
    }
  }
  ~Watchdog() {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  void watch(pid_t pgid) {
    if (fd_ >= 0) (void)!write(fd_, &pgid, sizeof pgid);
  }
  void forget(pid_t pgid) { watch(-pgid); }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
};

class ProcessRuntime : public ContainerRuntime {
 public:
  ~ProcessRuntime() override {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : containers_) kill_and_reap(c);
  }

  bool start(const ContainerSpec& spec, std::string& error) override {
    std::string path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& e : spec.env)
      if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
    std::vector<std::string> argv = spec.argv.empty() ? std::vector<std::string>{"sleep", "infinity"} : spec.argv;
    if (resolve(argv[0], path_var).empty()) {
      // What containerd reports when the image has no such executable.
      error = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
              "failed: unable to start container process: exec: \"" + argv[0] +
              "\": executable file not found in $PATH: unknown";
      return false;
    }
    // Mount paths through the image's symlinks (/var/run -> /run): bwrap binds where the link leads.
    std::vector<Mount> mounts = spec.mounts;
    std::vector<std::string> mount_paths;
    for (auto& m : mounts) {
      std::error_code ec;
      std::string resolved = fs::weakly_canonical(m.container_path, ec).string();
      if (!ec && !resolved.empty()) m.container_path = resolved;
      mount_paths.push_back(m.container_path);
    }
    std::vector<std::string> args = {"/usr/bin/bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc",
                                     "--unshare-uts", "--new-session"};
    add_tree("/", mount_paths, args);
    args.insert(args.end(), {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"});
    for (const auto& m : mounts)
      args.insert(args.end(), {m.read_only ? "--ro-bind" : "--bind", m.host_path, m.container_path});
    args.insert(args.end(), {"--chdir", spec.working_dir.empty() ? "/" : spec.working_dir, "--"});
    args.insert(args.end(), argv.begin(), argv.end());
    std::vector<std::string> env = spec.env;
    bool has_path = false;
    for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
    if (!has_path) env.push_back("PATH=" + path_var);
    int log = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fds[3] = {null_in, log, log};
    pid_t pid = spawn(args, env, fds);
    if (log >= 0) close(log);
    if (null_in >= 0) close(null_in);
    if (pid < 0) {
      error = std::string("fork: ") + std::strerror(errno);
      return false;
    }
    watchdog_.watch(pid);  // the sandbox's process group (setpgid in spawn)
    std::lock_guard lock(mu_);
    containers_[spec.id] = {pid, std::nullopt, spec.env, spec.working_dir};
    return true;
  }

  std::optional<int> exit_code(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return std::nullopt;
    Container& c = it->second;
    if (!c.exit) {
      int status = 0;
      if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        watchdog_.forget(c.pid);
      }
    }
    return c.exit;
  }

  void stop(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return;
    kill_and_reap(it->second);
    containers_.erase(it);
  }

  int exec(const std::string& id, const std::vector<std::string>& argv, int fds[3], std::string& error) override {
    pid_t sandbox = 0;
    std::vector<std::string> env;
    std::string wd;
    {
      std::lock_guard lock(mu_);
      auto it = containers_.find(id);
      if (it == containers_.end() || it->second.exit) {
        error = "container not running";
        return -1;
      }
      sandbox = it->second.pid;
      env = it->second.env;
      wd = it->second.working_dir;
    }
    // bwrap's child is the sandbox's first process: enter its mount and PID namespaces and its root. It forks the
    // container's command only once the sandbox's mounts and root are set up; until then (a container that has
    // just started) exec would enter a half-built root, so wait for that child, as a real runtime's exec only
    // reaches a started container.
    auto first_child = [](pid_t pid) {
      std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
      pid_t child = 0;
      children >> child;
      return child;
    };
    pid_t inner = 0;
    for (int i = 0; i < 500; ++i) {  // at most 5 s
      inner = first_child(sandbox);
      if (inner > 0 && first_child(inner) > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (inner <= 0) {
      error = "container not running";
      return -1;
    }
    std::vector<std::string> args = {"/usr/bin/nsenter", "-t", std::to_string(inner), "-m", "-p", "-u", "-i",
                                     "-r", "-w" + (wd.empty() ? std::string("/") : wd), "--"};
    args.insert(args.end(), argv.begin(), argv.end());
    bool has_path = false;
    for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
    if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    pid_t pid = spawn(args, env, fds);
    if (pid < 0) error = std::string("fork: ") + std::strerror(errno);
    return pid;
  }

 private:
  struct Container {
    pid_t pid;
    std::optional<int> exit;
    std::vector<std::string> env;
    std::string working_dir;
  };
  void kill_and_reap(Container& c) {
    if (c.exit) return;
    // The sandbox's PID namespace dies with its first process, taking every process the container started.
    kill(-c.pid, SIGKILL);
    kill(c.pid, SIGKILL);
    int status = 0;
    waitpid(c.pid, &status, 0);
    watchdog_.forget(c.pid);
    c.exit = 137;
  }
  Watchdog watchdog_;
  std::mutex mu_;
  std::map<std::string, Container> containers_;
};

class NoProcessRuntime : public ContainerRuntime {
 public:
  bool start(const ContainerSpec& spec, std::string&) override {
    std::lock_guard lock(mu_);
    containers_[spec.id] = spec.runs_to_completion;
    return true;
  }
  std::optional<int> exit_code(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it != containers_.end() && it->second) return 0;
    return std::nullopt;
  }
  void stop(const std::string& id) override {
    std::lock_guard lock(mu_);
    containers_.erase(id);
  }
  bool polled() const override { return false; }
  int exec(const std::string&, const std::vector<std::string>&, int[3], std::string& error) override {
    error = "kubelite runs no container processes (--no-processes)";
    return -1;
  }

 private:
  std::mutex mu_;
  std::map<std::string, bool> containers_;
};

}  // namespace

std::unique_ptr<ContainerRuntime> make_process_runtime() { return std::make_unique<ProcessRuntime>(); }
std::unique_ptr<ContainerRuntime> make_no_process_runtime() { return std::make_unique<NoProcessRuntime>(); }

}  // namespace kubelite::workloads
