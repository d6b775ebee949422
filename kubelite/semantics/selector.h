#pragma once
// Label and field selectors with the Kubernetes syntax (k8s.io/apimachinery/pkg/labels, fields).
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace kubelite {

struct LabelRequirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
  std::string key;
  Op op = Op::Exists;
  std::vector<std::string> values;
};

struct LabelSelector {
  std::vector<LabelRequirement> requirements;  // ANDed; empty matches everything
  // `labels` is metadata.labels (an object, or null when absent).
  bool matches(const nlohmann::json& labels) const;
};

// Parses "a=1,b!=2,c in (x,y),d notin (z),e,!f,g>3" (also "==").
// Throws ApiError(400, "BadRequest", <labels.Parse's message>) on bad syntax or invalid keys/values, e.g.
// "unable to parse requirement: found 'b', expected: in, !=, notin, ==, =, >, <" or
// "found ',', expected: !, identifier, or 'end of string'".
LabelSelector parse_label_selector(std::string_view text);

struct FieldRequirement {
  std::string field;  // e.g. "metadata.name", "status.phase"
  bool equals = true; // "=" / "==" versus "!="
  std::string value;
};

struct FieldSelector {
  std::vector<FieldRequirement> requirements;  // ANDed
  // Reads each field from the object by its dotted path; a missing field compares as "".
  bool matches(const nlohmann::json& object) const;
};

// The field-selector fields a resource supports: metadata.name and metadata.namespace for all, plus the
// per-kind ones of the real server (pods: spec.nodeName, spec.restartPolicy, spec.schedulerName,
// spec.serviceAccountName, spec.hostNetwork, status.phase, status.podIP, status.nominatedNodeName;
// secrets: type; events: involvedObject.*, reason, source, type; namespaces: status.phase; nodes:
// spec.unschedulable; jobs: status.successful; replicasets: status.replicas; CRs: metadata.* plus their
// selectableFields).
std::vector<std::string> supported_field_selectors(const std::string& group, const std::string& resource);

// Parses "metadata.name=x,status.phase!=Running"; a field outside `supported` →
// ApiError(400, "BadRequest", ...) with the real server's message: for kinds that support only the two
// metadata fields `"<field>" is not a known field selector: only "metadata.name", "metadata.namespace"`,
// for kinds with extra fields `field label not supported: <field>`.
FieldSelector parse_field_selector(std::string_view text, const std::vector<std::string>& supported);

}  // namespace kubelite
