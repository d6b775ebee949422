// Containers as local processes in bubblewrap sandboxes. The host's file system is the image, read-only: the
// sandbox root is a tmpfs holding read-only binds of the host's directories, split down to each volume's
// mountPath so that a volume can be mounted where the host has no such directory.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

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

// A process's pid as its PID namespace's child namespace numbers it (NSpid's second field), 0 when unknown.
pid_t pid_one_level_down(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("NSpid:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      pid_t outer = 0, inner = 0;
      fields >> outer >> inner;
      return inner;
    }
  return 0;
}

// Forks and execs `argv` in a new session (its own process group, no controlling terminal); -1 and errno on
// failure. `announce`, when not -1, is the watchdog's pipe: the child writes its process group there itself before
// exec, so that the watchdog knows the group before any process of the sandbox exists. `own_proc`: the child is in
// a PID namespace of kubelite's and gets a mount namespace with that namespace's /proc, because bwrap and nsenter
// look up the pids they know in /proc.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int fds[3], int announce,
            bool own_proc) {
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  // The child: dies with kubelite (even kill -9). Its parent's pid reads 0 while kubelite, outside the child's PID
  // namespace (the spawner's, below), lives; once kubelite is gone, it reads as whoever adopted the child.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  pid_t now = getppid();
  if (now != parent && now != 0) _exit(127);
  setsid();
  pid_t self = getpid();
  if (announce >= 0 && write(announce, &self, sizeof self) != static_cast<ssize_t>(sizeof self)) _exit(127);
  for (int i = 0; i < 3; ++i)
    if (fds[i] >= 0) dup2(fds[i], i);
  if (own_proc && (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0 ||
                   mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)) {
    const char* what = "kubelite: cannot mount /proc for the container's PID namespace: ";
    (void)!write(2, what, strlen(what));
    (void)!write(2, strerror(errno), strlen(strerror(errno)));
    _exit(127);
  }
  for (int fd = 3; fd < 1024; ++fd) close(fd);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  execve(cargv[0], cargv.data(), cenv.data());
  _exit(127);
}

// The sandboxes must not outlive kubelite, even when it is killed with SIGKILL. Parent-death signals alone do not
// do it: bwrap's first process inside the sandbox (its PID namespace's init) arms its own only at the end of the
// sandbox's setup, so a kubelite killed during a setup left that process running, reparented to init, with the
// container under it; and bwrap's --new-session had taken it out of the process group a watchdog would kill.
//
// So every process kubelite starts is forked by one spawner thread that has moved its children into a PID
// namespace of their own (unshare(CLONE_NEWPID) applies to the calling thread's children; a thread that did it may
// fork but not start threads, hence a thread of its own). The namespace's first process is a watchdog: when it
// exits (its pipe from kubelite closes, however kubelite ends; or it is killed itself), the kernel kills every
// process of the namespace, sandboxes nested in it included, with no window for any of them. Where kubelite may
// not create a PID namespace (not root), the watchdog kills the process groups the sandboxes announce instead.
// The spawner being one long-lived thread also matters for the parent-death signal, which fires when the thread
// that forked ends, not the process.
class Spawner {
 public:
  Spawner() {
    std::promise<void> ready;
    thread_ = std::thread([this, &ready] {
      setup();
      ready.set_value();
      serve();
    });
    ready.get_future().wait();
  }
  ~Spawner() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // spawn() on the spawner thread; sandboxes announce their group to the watchdog where there is no namespace.
  pid_t run(const std::vector<std::string>& argv, const std::vector<std::string>& env, int fds[3], bool sandbox,
            std::string& error) {
    std::promise<std::pair<pid_t, int>> result;
    auto done = result.get_future();
    {
      std::lock_guard lock(mu_);
      jobs_.push_back([&] {
        pid_t pid = spawn(argv, env, fds, sandbox && !namespaced_ ? watchdog_fd_ : -1, namespaced_);
        result.set_value({pid, errno});
      });
    }
    cv_.notify_all();
    auto [pid, err] = done.get();
    if (pid < 0) {
      error = std::string("fork: ") + std::strerror(err);
      if (namespaced_ && err == ENOMEM) error += " (the watchdog of kubelite's PID namespace for containers has exited)";
    }
    return pid;
  }
  // Whether spawned processes live in kubelite's PID namespace (one level below kubelite's own).
  bool namespaced() const { return namespaced_; }
  // A reaped sandbox: its group id may be reused.
  void forget(pid_t pgid) {
    if (watchdog_fd_ >= 0 && !namespaced_) (void)!write(watchdog_fd_, &pgid, sizeof pgid);
  }

 private:
  void setup() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    namespaced_ = unshare(CLONE_NEWPID) == 0;
    pid_t pid = fork();  // the namespace's init
    if (pid == 0) {
      close(fds[1]);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      signal(SIGTERM, SIG_IGN);
      signal(SIGINT, SIG_IGN);
      signal(SIGCHLD, SIG_IGN);  // the namespace's orphans are reparented here: reap them
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
      watchdog_fd_ = fds[1];
      watchdog_pid_ = pid;
    } else {
      close(fds[1]);
    }
  }
  void serve() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) break;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
    if (watchdog_fd_ >= 0) close(watchdog_fd_);
    if (watchdog_pid_ > 0) waitpid(watchdog_pid_, nullptr, 0);
  }

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  int watchdog_fd_ = -1;
  pid_t watchdog_pid_ = -1;
  bool namespaced_ = false;  // written by setup() before the constructor returns
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
    // No --new-session: spawn() gives the sandbox a session of its own, and bwrap's init must stay in its group.
    std::vector<std::string> args = {"/usr/bin/bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc",
                                     "--unshare-uts"};
    add_tree("/", mount_paths, args);
    args.insert(args.end(), {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"});
    // The container's own program is part of its image even when the host keeps it under /tmp (a checkout
    // there, whose built helper a test runs as a container): bound read-only over the private /tmp.
    if (argv[0].rfind("/tmp/", 0) == 0) args.insert(args.end(), {"--ro-bind", argv[0], argv[0]});
    for (const auto& m : mounts)
      args.insert(args.end(), {m.read_only ? "--ro-bind" : "--bind", m.host_path, m.container_path});
    args.insert(args.end(), {"--chdir", spec.working_dir.empty() ? "/" : spec.working_dir, "--"});
    args.insert(args.end(), argv.begin(), argv.end());
    std::vector<std::string> env = spec.env;
    bool has_path = false;
    for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
    if (!has_path) env.push_back("PATH=" + path_var);
    // The container's log directory is made here, where it is written: a runtime without processes writes none
    // (and 100k pods' directories cost a --load of them a tenth of its time).
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(spec.log_path).parent_path(), ec);
    int log = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fds[3] = {null_in, log, log};
    pid_t pid = spawner_.run(args, env, fds, true, error);
    if (log >= 0) close(log);
    if (null_in >= 0) close(null_in);
    if (pid < 0) return false;
    std::lock_guard lock(mu_);
    containers_[spec.id] = {pid, std::nullopt, spec.env};
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
        spawner_.forget(c.pid);
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
    {
      std::lock_guard lock(mu_);
      auto it = containers_.find(id);
      if (it == containers_.end() || it->second.exit) {
        error = "container not running";
        return -1;
      }
      sandbox = it->second.pid;
      env = it->second.env;
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
    if (spawner_.namespaced()) inner = pid_one_level_down(inner);
    // Root and working directory are the sandbox's own (bwrap's init has chdir'ed to the workingDir): nsenter's
    // `-w<dir>` would open <dir> in kubelite's mount namespace, leaving exec in a directory outside the sandbox's
    // root, where getcwd() fails.
    std::vector<std::string> args = {"/usr/bin/nsenter", "-t", std::to_string(inner), "-m", "-p", "-u", "-i",
                                     "-r", "-w", "--"};
    args.insert(args.end(), argv.begin(), argv.end());
    bool has_path = false;
    for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
    if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    return spawner_.run(args, env, fds, false, error);  // enters the sandbox's PID namespace: ends with it
  }

 private:
  struct Container {
    pid_t pid;
    std::optional<int> exit;
    std::vector<std::string> env;
  };
  void kill_and_reap(Container& c) {
    if (c.exit) return;
    // The sandbox's PID namespace dies with its first process, taking every process the container started.
    kill(-c.pid, SIGKILL);
    kill(c.pid, SIGKILL);
    int status = 0;
    waitpid(c.pid, &status, 0);
    spawner_.forget(c.pid);
    c.exit = 137;
  }
  Spawner spawner_;
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
