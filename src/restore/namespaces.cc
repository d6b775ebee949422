#include "restore/namespaces.h"

#include <chrono>
#include <exception>
#include <thread>

#include "kube/errors.h"
#include "restore/retry.h"

namespace arca::restore {

using nlohmann::json;

std::string NamespaceEnsurer::ensure(const std::string& original, const std::string& target) {
  std::shared_ptr<State> state;
  {
    std::lock_guard lock(mutex_);
    auto& slot = states_[target];
    if (!slot) slot = std::make_shared<State>();
    state = slot;
  }
  std::call_once(state->once, [&] {
    try {
      state->error = create_if_missing(original, target);
    } catch (const kube::KubeError& e) {
      state->error = "error ensuring namespace " + target + " exists: " + e.what();
    }
  });
  return state->error;
}

std::string NamespaceEnsurer::create_if_missing(const std::string& original, const std::string& target) {
  kube::ApiResource namespaces = discovery_.lookup("", "v1", "namespaces");
  json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", target}}}};
  auto backed_up = backed_up_.find(original);
  if (backed_up != backed_up_.end()) {
    json from_backup = json::parse(backed_up->second, nullptr, false);
    if (from_backup.is_object()) {
      for (const char* field : {"labels", "annotations"})
        if (from_backup["metadata"].contains(field)) ns["metadata"][field] = from_backup["metadata"][field];
      if (from_backup.contains("spec")) ns["spec"] = from_backup["spec"];
    }
  }
  // The create comes first: into an empty cluster that is one request per namespace instead of a GET that
  // answers 404 and then the create. The namespace is read when the create is refused: it exists (wait out its
  // termination), or the server refused for another reason (e.g. no RBAC to create namespaces) that matters
  // only if the namespace is missing.
  auto deadline = std::chrono::steady_clock::now() + options_.terminating_timeout;
  for (;;) {
    std::exception_ptr refused;
    if (!options_.dry_run) {
      for (int attempt = 1;; ++attempt) {
        try {
          client_.create(namespaces, "", ns);
          report_.resources().record("v1/Namespace", "", target, ItemAction::created);
          report_.log().info("created namespace " + target);
          return {};
        } catch (const kube::KubeError& e) {
          // Every item of the namespace depends on this one create: a transient refusal is retried.
          if (attempt < kCreateAttempts && may_succeed_again(e)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
            continue;
          }
          if (!kube::is_already_exists(e)) refused = std::current_exception();
          break;
        }
      }
    }
    try {
      json live = client_.get(namespaces, "", target);
      bool terminating = live.value("/status/phase"_json_pointer, std::string()) == "Terminating" ||
                         live["metadata"].contains("deletionTimestamp");
      if (!terminating || options_.dry_run) return {};  // an existing namespace is used as it is
      if (std::chrono::steady_clock::now() > deadline)
        return "timed out waiting for terminating namespace " + target + " to disappear before restoring";
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
      if (refused) std::rethrow_exception(refused);
      if (options_.dry_run) {
        report_.dry_run("namespaces/" + target, DryRunVerdict::would_create);
        return {};
      }
    }
  }
}

}  // namespace arca::restore
