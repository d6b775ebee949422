#include "kubelite/reviews.h"

#include "kubelite/objects.h"

namespace kubelite {

using json = nlohmann::json;

bool is_review(const ResourceInfo& r) {
  if (r.group == "authentication.k8s.io") return r.resource == "selfsubjectreviews";
  return r.group == "authorization.k8s.io" &&
         (r.resource == "selfsubjectaccessreviews" || r.resource == "subjectaccessreviews" ||
          r.resource == "localsubjectaccessreviews" || r.resource == "selfsubjectrulesreviews");
}

json answer_review(const ResourceInfo& r, const std::string& ns, json body, const UserInfo& user) {
  if (!body.is_object()) throw bad_request("the body of the request is not a JSON object");
  json spec = body.value("spec", json::object());
  if (!spec.is_object()) throw bad_request(r.kind + ".spec: expected an object");
  json review = {{"kind", r.kind}, {"apiVersion", r.api_version()}, {"metadata", {{"creationTimestamp", nullptr}}}};
  if (r.resource == "selfsubjectreviews") {
    // The authenticator's view of the caller, as the real SelfSubjectReview REST handler returns it.
    review["status"] = {{"userInfo", {{"username", user.username}, {"groups", user.groups}}}};
    return review;
  }
  if (r.resource == "selfsubjectrulesreviews") {
    if (spec.value("namespace", "").empty())
      throw invalid(r, "", {{"FieldValueRequired", "spec.namespace", "Required value"}});
    review["spec"] = spec;
    // What the rule resolver lists for a system:masters member: everything.
    review["status"] = {{"resourceRules", json::array({{{"verbs", {"*"}}, {"apiGroups", {"*"}}, {"resources", {"*"}}}})},
                        {"nonResourceRules", json::array({{{"verbs", {"*"}}, {"nonResourceURLs", {"*"}}}})},
                        {"incomplete", false}};
    return review;
  }
  // Access reviews: exactly one of resourceAttributes / nonResourceAttributes, as the real validation demands.
  bool resource = spec.contains("resourceAttributes"), non_resource = spec.contains("nonResourceAttributes");
  if (resource == non_resource)
    throw invalid(r, "", {{"FieldValueInvalid", "spec.resourceAttributes",
                           "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be "
                           "specified"}});
  if (r.resource == "subjectaccessreviews" || r.resource == "localsubjectaccessreviews") {
    if (spec.value("user", "").empty() && spec.value("groups", json::array()).empty())
      throw invalid(r, "", {{"FieldValueRequired", "spec.user", "Required value: at least one of user or group must be specified"}});
  }
  if (r.resource == "localsubjectaccessreviews") {
    std::string wanted = resource ? spec["resourceAttributes"].value("namespace", "") : "";
    if (wanted != ns)
      throw invalid(r, "", {{"FieldValueInvalid", "spec.resourceAttributes.namespace",
                             "Invalid value: \"" + wanted + "\": must match metadata.namespace"}});
    review["metadata"]["namespace"] = ns;
  }
  review["spec"] = spec;
  // system:masters is allowed by the privileged-group authorizer, which gives no reason.
  review["status"] = {{"allowed", true}};
  return review;
}

}  // namespace kubelite
