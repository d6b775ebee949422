#pragma once
// The real kube-apiserver discovery documents, embedded at build time from fixtures/kubernetes/discovery
// so that the kubelite binary does not depend on where the fixtures live.
namespace kubelite {
extern const char* const kAggregatedDiscoveryJson;  // aggregated_v2.json: every group except core
extern const char* const kCoreResourceListJson;     // api__v1.json: the core group's APIResourceList
}  // namespace kubelite
