// arca-restore-helper: what the restore-wait init container runs, with velero-restore-helper's protocol
// (Velero's cmd/velero-restore-helper): one argument, the restore's UID; it waits until every directory under
// /restores (each restored volume, mounted there by the init container) holds `.velero/<restore-uid>`, written by
// the node agent once that volume's data is in place, then removes those `.velero` directories and exits 0, so
// the pod's application containers start on restored data.
//
// A separate, dependency-free executable rather than an `arca` subcommand: Velero's fs-restore-action-config sets
// the init container's command as a single path whose only argument is the UID, so the helper must be a program of
// its own; it also starts in milliseconds and holds no client code. The server image carries it as
// /velero-restore-helper (Velero's layout); kubelite runs containers on the host's filesystem, so tests point the
// ConfigMap's `command` at the built binary.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>

namespace fs = std::filesystem;

namespace {

// Every volume directory has its done file; false (with the reason printed) when /restores cannot be read.
bool done(const fs::path& root, const std::string& uid) {
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  if (ec) {
    std::fprintf(stderr, "ERROR reading %s directory: %s\n", root.c_str(), ec.message().c_str());
    return false;
  }
  for (const auto& child : it) {
    if (!child.is_directory(ec)) continue;
    if (!fs::exists(child.path() / ".velero" / uid, ec)) {
      std::printf("Not found: %s\n", (child.path() / ".velero" / uid).c_str());
      std::fflush(stdout);
      return false;
    }
    std::printf("Found %s\n", (child.path() / ".velero" / uid).c_str());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "ERROR: exactly one argument must be provided, the restore's UID\n");
    return 1;
  }
  const std::string uid = argv[1];
  // /restores as in Velero's image; ARCA_RESTORES_DIR only lets the helper's own test run it outside a container.
  const char* override_root = std::getenv("ARCA_RESTORES_DIR");
  const fs::path root = override_root && *override_root ? override_root : "/restores";
  while (!done(root, uid)) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::printf("All fs restores are done\n");
  std::error_code ec;
  bool cleaned = true;
  for (const auto& child : fs::directory_iterator(root, ec)) {
    std::error_code remove_error;
    fs::remove_all(child.path() / ".velero", remove_error);
    if (remove_error) {
      cleaned = false;
      std::printf("failed to remove %s: %s\n", (child.path() / ".velero").c_str(), remove_error.message().c_str());
    }
  }
  if (cleaned) std::printf("Done cleanup .velero folder\n");
  return 0;
}
