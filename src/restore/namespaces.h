#pragma once
// The target namespaces of a restore (Velero's EnsureNamespaceExistsAndIsReady, pkg/util/kube/utils.go): an
// existing namespace is used as it is, after waiting out its termination; a missing one is created with the
// backed-up labels, annotations and spec. Each namespace is settled once, whichever worker asks first.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "restore/engine.h"
#include "restore/reporter.h"

namespace arca::restore {

class NamespaceEnsurer {
 public:
  // `backed_up`: original namespace name → its Namespace JSON in the backup (read when a namespace is created).
  NamespaceEnsurer(kube::DynamicClient& client, kube::Discovery& discovery, const EngineOptions& options,
                   Reporter& report, const std::map<std::string, std::string>& backed_up)
      : client_(client), discovery_(discovery), options_(options), report_(report), backed_up_(backed_up) {}

  // "" once namespace `target` exists (or, in a dry run, would), else why its items cannot be restored.
  std::string ensure(const std::string& original, const std::string& target);

 private:
  std::string create_if_missing(const std::string& original, const std::string& target);

  struct State {
    std::once_flag once;
    std::string error;
  };
  kube::DynamicClient& client_;
  kube::Discovery& discovery_;
  const EngineOptions& options_;
  Reporter& report_;
  const std::map<std::string, std::string>& backed_up_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<State>> states_;
};

}  // namespace arca::restore
