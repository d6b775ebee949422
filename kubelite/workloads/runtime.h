#pragma once
// The seam through which a kubelet runs containers: real sandboxed processes (bubblewrap), or none at all
// (benchmarks with 100k pods), or whatever a test puts in their place.
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kubelite::workloads {

struct Mount {
  std::string host_path, container_path;
  bool read_only = false;
};

struct ContainerSpec {
  std::string id;                 // unique per run of a container
  std::vector<std::string> argv;  // command + args; empty: a placeholder that runs until killed
  std::vector<std::string> env;   // "NAME=value"
  std::string working_dir;        // "" : /
  std::vector<Mount> mounts;      // the pod's volumes at their mountPaths
  std::string log_path;           // stdout and stderr are appended here
  bool runs_to_completion = false;  // the pod's restartPolicy is not Always (what the no-process runtime reports)
};

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;
  // Starts the container; on failure returns false with `error` (e.g. the executable is missing).
  virtual bool start(const ContainerSpec& spec, std::string& error) = 0;
  // The exit code once the container has stopped, nothing while it runs.
  virtual std::optional<int> exit_code(const std::string& id) = 0;
  // Whether containers can stop by themselves after start (then the kubelet polls exit_code while they run).
  virtual bool polled() const { return true; }
  // Kills the container's processes and forgets it.
  virtual void stop(const std::string& id) = 0;
  // Runs `argv` inside a running container's sandbox (exec), with pipes for stdin/stdout/stderr; returns the
  // child's pid or -1 with `error`.
  virtual int exec(const std::string& id, const std::vector<std::string>& argv, int fds[3], std::string& error) = 0;
};

// Real processes: each container is a bubblewrap sandbox with the host's root read-only as its image, the pod's
// volumes bound at their mount paths, and its own PID namespace (killing the sandbox kills all it started).
std::unique_ptr<ContainerRuntime> make_process_runtime();
// No processes: containers "run" until stopped; those of pods that run to completion exit 0 at once.
std::unique_ptr<ContainerRuntime> make_no_process_runtime();

}  // namespace kubelite::workloads
