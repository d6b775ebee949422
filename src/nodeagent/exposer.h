#pragma once
// The data mover's exposers (Velero's pkg/exposer/csi_snapshot.go for DataUploads, generic_restore.go for
// DataDownloads): a claim in the velero namespace and a pod on this node that mounts it, so that the volume's data
// appears under this node's pods directory where the agent reads or writes it. Velero's pods run `velero-helper
// pause`; arca's run `sleep`, since the agent moves the data itself from the host path (as Velero's node agent did
// before its data mover pods ran the transfer themselves).
#include <chrono>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace arca::nodeagent {

struct Agent;

// The pod that mounts claim `claim` (in the agent's namespace) at /data on `node`, owned by `owner` (the
// DataUpload or DataDownload, so that it goes with it), labelled `label`=`owner name`.
nlohmann::json exposer_pod(const std::string& name, const std::string& ns, const std::string& node,
                           const std::string& claim, const nlohmann::json& owner, const std::string& label);

// Waits until the exposer pod runs and its volume's directory is on this node: {host path, real directory}.
// Throws naming what is not ready after `timeout`; `canceled` stops the wait early (throws too).
std::pair<std::string, std::string> wait_exposed(Agent& a, const std::string& pod, std::chrono::milliseconds timeout,
                                                 const std::function<bool()>& canceled);

// Deletes the exposer pod and claim (absent ones are fine) and waits, bounded, until both are gone.
void remove_pod_and_claim(Agent& a, const std::string& name);

// Deletes a VolumeSnapshot and its content with deletionPolicy Delete (the driver's snapshot goes too), each when
// present, waiting (bounded) until they are gone. Throws on API errors other than NotFound.
void delete_snapshot(Agent& a, const std::string& ns, const std::string& vs, const std::string& vsc);

}  // namespace arca::nodeagent
