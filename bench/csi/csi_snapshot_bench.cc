// CSI snapshots of many claims through `arca server` (issue 19): N claims of M MiB on kubelite's CSI host-path driver,
// backed up with `arca backup create` (every VolumeSnapshot created as its claim is backed up, then all awaited
// together), against a named peer in the same process: the same snapshots taken one at a time, each created and
// awaited before the next (what a script looping over `kubectl create volumesnapshot` + `kubectl wait` does).
// Prints wall seconds, the snapshot copy rate (MB/s of claim data), and the server's peak RSS.
//   csi_snapshot_bench [--claims 20] [--mib 100]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/seeded_cluster.h"
#include "kube/errors.h"
#include "tests/integration/harness.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Incompressible bytes, fast (the driver copies files; their content does not matter, only their size).
void write_random_file(const std::string& path, size_t mib, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> block(1 << 17);  // 1 MiB
  std::ofstream out(path, std::ios::binary);
  for (size_t i = 0; i < mib; ++i) {
    for (auto& w : block) w = rng();
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(block.size() * 8));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int claims = 20;
  size_t mib = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--claims")) claims = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--mib")) mib = std::strtoul(argv[i + 1], nullptr, 10);
  }
  benchsupport::use_build_defaults();
  testsupport::TempDir root;
  std::string manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: velero}\n---\n"
                         "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n";
  for (int i = 0; i < claims; ++i)
    manifest += "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data-" + std::to_string(i) +
                ", namespace: bench}\nspec: {accessModes: [ReadWriteOnce], storageClassName: standard, "
                "resources: {requests: {storage: 1Gi}}}\n";
  integration::Cluster cluster({{"bench.yaml", manifest}}, {"--csi-hostpath-dir", root.path()});
  auto& client = cluster.client();
  auto pvcs = cluster.resource("", "persistentvolumeclaims"), pvs = cluster.resource("", "persistentvolumes");
  auto vss = cluster.resource("snapshot.storage.k8s.io", "volumesnapshots");
  for (int i = 0; i < claims; ++i) {
    std::string dir;
    testsupport::eventually([&] {
      json pvc = client.get(pvcs, "bench", "data-" + std::to_string(i));
      if (pvc.value("/status/phase"_json_pointer, std::string()) != "Bound") return false;
      json pv = client.get(pvs, "", pvc["spec"]["volumeName"].get<std::string>());
      dir = root.path() + "/volumes/" + pv["spec"]["csi"]["volumeHandle"].get<std::string>();
      return fs::is_directory(dir);
    }, std::chrono::seconds(60));
    write_random_file(dir + "/data.bin", mib, i);
  }
  const double total_mb = claims * mib * 1048576.0 / 1e6;
  std::printf("%d claims of %zu MiB (%.0f MB) on hostpath.csi.k8s.io\n", claims, mib, total_mb);

  // arca: one backup of the namespace.
  auto start = Clock::now();
  auto created = cluster.arca({"backup", "create", "snaps", "--include-namespaces", "bench"});
  if (created.exit_code != 0) throw std::runtime_error(created.err);
  json done = cluster.wait_for_phase("snaps", {"Completed", "PartiallyFailed", "Failed"}, 600);
  double arca_s = seconds_since(start);
  std::printf("arca backup (all snapshots at once): %.2f s, %.1f MB/s, phase %s, %d snapshots completed, server peak RSS %.1f MiB\n",
              arca_s, total_mb / arca_s, done.value("/status/phase"_json_pointer, std::string()).c_str(),
              done.value("/status/csiVolumeSnapshotsCompleted"_json_pointer, 0),
              benchsupport::status_kib(cluster.server().pid(), "VmHWM:") / 1024.0);

  // Peer: one snapshot at a time, each awaited before the next.
  start = Clock::now();
  for (int i = 0; i < claims; ++i) {
    json vs = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
               {"kind", "VolumeSnapshot"},
               {"metadata", {{"name", "serial-" + std::to_string(i)}, {"namespace", "bench"}}},
               {"spec", {{"source", {{"persistentVolumeClaimName", "data-" + std::to_string(i)}}}}}};
    client.create(vss, "bench", vs);
    bool ready = testsupport::eventually([&] {
      return client.get(vss, "bench", "serial-" + std::to_string(i)).value("/status/readyToUse"_json_pointer, false);
    }, std::chrono::seconds(300), std::chrono::milliseconds(20));
    if (!ready) throw std::runtime_error("serial snapshot " + std::to_string(i) + " not ready");
  }
  double serial_s = seconds_since(start);
  std::printf("peer, one snapshot at a time: %.2f s, %.1f MB/s\n", serial_s, total_mb / serial_s);
  std::printf("arca / peer time: %.2fx\n", arca_s / serial_s);
  return 0;
}
