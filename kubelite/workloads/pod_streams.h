#pragma once
// The kubelet's side of GET pods/<name>/log, answered from the container log files the kubelets write.
#include <memory>

#include "kubelite/api.h"
#include "kubelite/workloads/workloads.h"

namespace kubelite::workloads {

std::unique_ptr<PodStreams> make_pod_streams(Workloads& workloads);

}  // namespace kubelite::workloads
