#pragma once
// The data set of the end-to-end benchmarks: kubelite started with --load holding N objects in 1,000
// namespaces, copies of the fixtures' namespaced manifests (Deployments, StatefulSets, Services, ConfigMaps,
// Secrets, Jobs, Ingresses, RBAC, PVCs, ...). The backup benchmark backs it up; the restore benchmark restores
// that backup into an empty kubelite. Plus the few calls both make: the arca CLI, a GET, a process's memory.
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/support/process.h"

namespace benchsupport {

inline constexpr int kNamespaces = 1000;

// Sets ARCA_BUILD_DIR / ARCA_FIXTURES to this build's values unless the environment has them.
void use_build_defaults();

// The fixtures' namespaced objects (no namespace set), the templates every namespace gets copies of.
std::vector<nlohmann::json> fixture_templates();

// Writes the data set start_seeded loads into `dir` (files kubelite --load reads in name order).
void write_load_files(const std::string& dir, int objects);

struct SeededCluster {
  testsupport::TempDir dir;
  testsupport::ChildProcess kubelite;
  std::string kubeconfig, server, token;
};

// Starts kubelite holding the namespace `velero`, ns-0..ns-999 and `objects` copies of the templates spread
// over them (objects == 0: only `velero`, an empty cluster for arca to work in).
void start_seeded(SeededCluster& cluster, int objects);

// Runs `arca --kubeconfig <cluster> ARGS`; its output goes to DIR/cli.log. Returns the exit status.
int arca(const SeededCluster& cluster, const std::string& args);

// GET SERVER+path with the cluster's token; the body (throws when the request fails).
std::string http_get(const SeededCluster& cluster, const std::string& path);
// METHOD SERVER+path; a PATCH sends `merge_patch` as a JSON merge patch. Throws on a failure or an HTTP error.
std::string http_request(const SeededCluster& cluster, const std::string& method, const std::string& path,
                         const std::string& merge_patch = "");

// User + system CPU seconds a process has used so far (/proc/PID/stat).
double cpu_seconds(pid_t pid);

// A field of /proc/PID/status in KiB ("VmHWM:" = peak RSS, "VmRSS:"), -1 when absent.
long status_kib(pid_t pid, const char* field);

}  // namespace benchsupport
