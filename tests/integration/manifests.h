#pragma once
// The workloads the backup integration tests add to the fixtures: namespaces with labels (one excluded by
// label), a pod with a PVC bound to a PV and a priority class and a pre-hook annotation, a service account
// bound to a ClusterRole, labelled config maps, a custom resource in ns1 and objects that must never be pulled
// in (a StorageClass, an unrelated ClusterRole).
namespace testmanifests {

inline constexpr const char* kNamespaces = R"(
apiVersion: v1
kind: Namespace
metadata: {name: velero}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns1, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns2, labels: {team: b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: nsx-1}
---
apiVersion: v1
kind: Namespace
metadata: {name: secret-ns, labels: {velero.io/exclude-from-backup: "true"}}
)";

inline constexpr const char* kWorkloads = R"(
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: sc1}
provisioner: example.com/none
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/pv1}
  storageClassName: manual
  claimRef: {namespace: ns1, name: claim1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim1, namespace: ns1}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  storageClassName: manual
  volumeName: pv1
  dataSource: {kind: PersistentVolumeClaim, name: other}
---
apiVersion: v1
kind: Pod
metadata:
  name: p1
  namespace: ns1
  labels: {app: web}
  annotations: {pre.hook.backup.velero.io/command: '["/bin/sh","-c","sync"]'}
spec:
  priorityClassName: high
  containers: [{name: c, image: nginx}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: claim1}}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa1, namespace: ns1}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cr1}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: unrelated}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cr1}
subjects: [{kind: ServiceAccount, name: sa1, namespace: ns1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-excluded, namespace: ns1, labels: {velero.io/exclude-from-backup: "true"}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-a, namespace: ns2, labels: {app: a}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-web, namespace: ns2, labels: {tier: web}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-x, namespace: nsx-1}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hidden, namespace: secret-ns}
data: {a: b}
)";

// Loaded after the fixtures' CRD (files load in name order).
inline constexpr const char* kCustomResources = R"(
apiVersion: stable.example.com/v1
kind: Shirt
metadata: {name: s1, namespace: ns1}
spec: {color: red, size: M}
)";

}  // namespace testmanifests
