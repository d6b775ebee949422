#pragma once
// The snapshot.storage.k8s.io CRDs of kubernetes-csi/external-snapshotter (client/config/crd/), embedded at build time
// from testdata/kubernetes/crds/external-snapshotter so that the kubelite binary does not depend on where they live.
#include <vector>

namespace kubelite::storage {
// VolumeSnapshotClass, VolumeSnapshotContent, VolumeSnapshot: one YAML document each.
std::vector<const char*> snapshot_crd_yamls();
}  // namespace kubelite::storage
