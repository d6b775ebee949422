#pragma once
// Post-restore exec hooks (Velero's internal/hook/wait_exec_hook_handler.go and pkg/restore/restore.go waitExec):
// once a restored pod is created, its hooks wait on a thread of their own, so the restore goes on, until their
// container runs (and is ready, when a hook asks for it); then that container's hooks run in order. A hook whose
// wait-timeout passed first is an error (Velero still runs it unless its onError is Fail). When one of a pod's hooks
// has no wait-timeout, Velero's hooks context has no deadline: they wait as long as the pod exists and has not ended
// (deleting the pod is how to give up on them). The pod ending or going away stops the waiting. A failing hook with onError Fail is a restore error in the pod's namespace and stops every
// hook still waiting in the restore; with Continue (the default) it is only logged. The restore waits for all of
// them before it completes.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hooks/pod_exec.h"
#include "restore/hooks.h"

namespace arca::kube {
class Transport;
}

namespace arca::restore {

struct HookReporter {
  std::function<void(const std::string&)> info, warning;
  std::function<void(const std::string&)> log_error;                       // the restore log only
  std::function<void(const std::string& ns, const std::string&)> error;    // also a restore error (results, status)
};

class PostRestoreExecHooks {
 public:
  // `poll` is how often the pod is read.
  PostRestoreExecHooks(kube::Transport& transport, hooks::Executor exec, HookReporter reporter,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(250));
  ~PostRestoreExecHooks();  // stops the hooks still waiting and joins their threads

  // Starts the hooks of the pod just created (`pod` as created, with its target namespace and name).
  void start(const nlohmann::json& pod, std::vector<ExecHookRequest> requests);
  // Returns once every started pod's hooks ran, expired or were stopped.
  void wait();
  const hooks::HookTracker& tracker() const { return tracker_; }

 private:
  void handle(const nlohmann::json& pod, std::vector<ExecHookRequest> requests);

  kube::Transport& transport_;
  hooks::Executor exec_;
  HookReporter report_;
  std::chrono::milliseconds poll_;
  hooks::HookTracker tracker_;
  std::atomic<bool> cancelled_{false};  // a Fail hook failed: Velero's hooksCancelFunc
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

}  // namespace arca::restore
