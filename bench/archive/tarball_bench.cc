// Tarball writer throughput and size on generated Kubernetes-like JSON, against `gzip -6` of the same tar.
// Usage: tarball_bench [MiB of JSON, default 256] [threads, default: all cores] [libdeflate level, default 6]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "archive/tarball_writer.h"

namespace {

// A pool of distinct, realistic items (pods and configmaps with managedFields, labels, uids, IPs); the
// benchmark cycles through it so generation cost does not pollute the measurement.
std::vector<std::string> make_items(size_t count) {
  std::mt19937_64 rng(42);
  auto hex = [&](int n) {
    static const char d[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < n; ++i) s += d[rng() % 16];
    return s;
  };
  const char* apps[] = {"web", "api", "worker", "cache", "db", "frontend", "billing", "search"};
  std::vector<std::string> items;
  for (size_t i = 0; i < count; ++i) {
    std::string app = apps[rng() % 8];
    std::string name = app + "-" + hex(10) + "-" + hex(5);
    std::string uid = hex(8) + "-" + hex(4) + "-" + hex(4) + "-" + hex(4) + "-" + hex(12);
    std::string ts = "2026-11-" + std::to_string(10 + rng() % 18) + "T" + std::to_string(10 + rng() % 13) + ":" +
                     std::to_string(10 + rng() % 49) + ":" + std::to_string(10 + rng() % 49) + "Z";
    std::string ip = "10.244." + std::to_string(rng() % 255) + "." + std::to_string(rng() % 255);
    std::string j =
        R"({"apiVersion":"v1","kind":"Pod","metadata":{"creationTimestamp":")" + ts + R"(","generateName":")" + app +
        R"(-","labels":{"app":")" + app + R"(","pod-template-hash":")" + hex(10) +
        R"(","tier":"backend"},"managedFields":[{"apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\")" +
        uid + R"(\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\")" + app +
        R"(\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{},"f:resources":{}}}}},"manager":"kube-controller-manager","operation":"Update","time":")" +
        ts + R"("}],"name":")" + name + R"(","namespace":"shop-)" + std::to_string(rng() % 20) +
        R"(","ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":true,"controller":true,"kind":"ReplicaSet","name":")" +
        app + "-" + hex(10) + R"(","uid":")" + hex(8) + "-" + hex(4) + "-" + hex(4) + "-" + hex(4) + "-" + hex(12) +
        R"("}],"resourceVersion":")" + std::to_string(rng() % 10000000) + R"(","uid":")" + uid +
        R"("},"spec":{"containers":[{"env":[{"name":"LOG_LEVEL","value":"info"},{"name":"REGION","value":"eu-west-)" +
        std::to_string(rng() % 3) + R"("}],"image":"registry.example.com/)" + app + ":" + hex(7) +
        R"(","imagePullPolicy":"IfNotPresent","name":")" + app +
        R"(","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{"limits":{"cpu":")" +
        std::to_string(100 + rng() % 900) + R"(m","memory":")" + std::to_string(64 + rng() % 960) +
        R"(Mi"}},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","volumeMounts":[{"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","name":"kube-api-access-)" +
        hex(5) + R"(","readOnly":true}]}],"dnsPolicy":"ClusterFirst","nodeName":"node-)" + std::to_string(rng() % 50) +
        R"(","restartPolicy":"Always","schedulerName":"default-scheduler","serviceAccountName":"default"},"status":{"conditions":[{"lastProbeTime":null,"lastTransitionTime":")" +
        ts + R"(","status":"True","type":"Ready"}],"hostIP":"192.168.)" + std::to_string(rng() % 255) + "." +
        std::to_string(rng() % 255) + R"(","phase":"Running","podIP":")" + ip +
        R"(","qosClass":"Burstable","startTime":")" + ts + R"("}})";
    items.push_back(std::move(j));
  }
  return items;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

long peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  size_t target = (argc > 1 ? std::stoul(argv[1]) : 256) << 20;
  unsigned threads = argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 0;
  int level = argc > 3 ? std::stoi(argv[3]) : arca::archive::GzipOptions{}.level;
  auto items = make_items(20000);
  std::string path = "/tmp/arca-tarball-bench-" + std::to_string(getpid()) + ".tar.gz";
  std::ofstream out(path, std::ios::binary);
  size_t json_bytes = 0, gz_bytes = 0, count = 0;
  auto start = std::chrono::steady_clock::now();
  double cpu_start = cpu_seconds();
  {
    arca::archive::TarballWriter writer(
        [&](const char* d, size_t n) {
          gz_bytes += n;
          out.write(d, static_cast<std::streamsize>(n));
        },
        {{level, threads, arca::archive::GzipOptions{}.block_size}, 0});
    while (json_bytes < target) {
      const std::string& item = items[count % items.size()];
      writer.add_item({"pods", "shop", "pod-" + std::to_string(count)}, "v1", false, item);
      json_bytes += item.size();
      ++count;
    }
    writer.finish();
  }
  out.close();
  double cpu = cpu_seconds() - cpu_start;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The reference: gzip -6 over exactly the same tar stream.
  std::string cmd = "gzip -dc " + path + " | gzip -6 | wc -c";
  FILE* p = popen(cmd.c_str(), "r");
  size_t reference = 0;
  if (p) {
    if (fscanf(p, "%zu", &reference) != 1) reference = 0;
    pclose(p);
  }
  std::remove(path.c_str());
  std::printf("tarball writer: %zu items, %.1f MB JSON in %.2f s = %.0f MB/s (threads=%u, level %d)\n", count,
              json_bytes / 1e6, seconds, json_bytes / 1e6 / seconds,
              threads ? threads : std::thread::hardware_concurrency(), level);
  // On a shared machine wall time depends on the neighbours; CPU time says what two free cores would do.
  std::printf("cpu: %.2f s = %.0f MB/s per core-second -> %.0f MB/s on 2 free cores\n", cpu, json_bytes / 1e6 / cpu,
              2 * json_bytes / 1e6 / cpu);
  std::printf("size: arca %.2f MB (ratio %.2fx), gzip -6 %.2f MB: arca/gzip = %.3f\n", gz_bytes / 1e6,
              double(json_bytes) / gz_bytes, reference / 1e6, reference ? double(gz_bytes) / reference : 0.0);
  std::printf("peak RSS: %ld MiB (the %zu-item pool of source JSON included)\n", peak_rss_mib(), items.size());
  // Size is a property of the format, not of the machine: more than 5% over gzip -6 is a failure.
  return reference && gz_bytes <= reference * 1.05 ? 0 : 1;
}
