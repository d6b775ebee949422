#include "kubelite/reviews.h"

#include "kubelite/objects.h"
#include "kubelite/rbac.h"

namespace kubelite {

using json = nlohmann::json;

bool is_review(const ResourceInfo& r) {
  if (r.group == "authentication.k8s.io") return r.resource == "selfsubjectreviews" || r.resource == "tokenreviews";
  return r.group == "authorization.k8s.io" &&
         (r.resource == "selfsubjectaccessreviews" || r.resource == "subjectaccessreviews" ||
          r.resource == "localsubjectaccessreviews" || r.resource == "selfsubjectrulesreviews");
}

namespace {

// A review's resourceAttributes / nonResourceAttributes as the authorizer's attributes.
AccessAttributes attributes_of(const json& spec) {
  AccessAttributes a;
  if (spec.contains("nonResourceAttributes")) {
    const json& n = spec["nonResourceAttributes"];
    a.non_resource = true;
    a.verb = n.value("verb", "");
    a.path = n.value("path", "");
    return a;
  }
  const json& r = spec["resourceAttributes"];
  a.verb = r.value("verb", "");
  a.group = r.value("group", "");
  a.resource = r.value("resource", "");
  a.subresource = r.value("subresource", "");
  a.name = r.value("name", "");
  a.ns = r.value("namespace", "");
  return a;
}

// Creating a review is itself a request the caller must be allowed (system:masters always is).
void authorize_create(const ResourceInfo& r, const UserInfo& user, const ReviewContext& context) {
  AccessAttributes a;
  a.verb = "create";
  a.group = r.group;
  a.resource = r.resource;
  if (!rbac_decide(context.store, user, a).allowed)
    throw ApiError(403, "Forbidden",
                   r.resource + "." + r.group + " is forbidden: User \"" + user.username +
                       "\" cannot create resource \"" + r.resource + "\" in API group \"" + r.group +
                       "\" at the cluster scope");
}

}  // namespace

json answer_review(const ResourceInfo& r, const std::string& ns, json body, const UserInfo& user,
                   const ReviewContext& context) {
  if (!body.is_object()) throw bad_request("the body of the request is not a JSON object");
  json spec = body.value("spec", json::object());
  if (!spec.is_object()) throw bad_request(r.kind + ".spec: expected an object");
  json review = {{"kind", r.kind}, {"apiVersion", r.api_version()}, {"metadata", {{"creationTimestamp", nullptr}}}};
  if (r.resource == "selfsubjectreviews") {
    // The authenticator's view of the caller, as the real SelfSubjectReview REST handler returns it.
    review["status"] = {{"userInfo", {{"username", user.username}, {"groups", user.groups}}}};
    return review;
  }
  if (r.resource == "tokenreviews") {
    // As the token authenticator behind kube-apiserver's TokenReview REST handler answers: the user of a
    // known token, or authenticated false (a 201 either way).
    authorize_create(r, user, context);
    std::string token = spec.value("token", "");
    if (token.empty()) throw invalid(r, "", {{"FieldValueRequired", "spec.token", "Required value"}});
    review["spec"] = {{"token", token}};
    auto known = context.tokens.find(token);
    if (known == context.tokens.end()) {
      review["status"] = {{"user", json::object()}, {"error", "invalid bearer token"}};
    } else {
      review["status"] = {{"authenticated", true},
                          {"user", {{"username", known->second.username}, {"groups", known->second.groups}}}};
    }
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
  UserInfo subject = user;
  if (r.resource == "subjectaccessreviews" || r.resource == "localsubjectaccessreviews") {
    authorize_create(r, user, context);
    subject = {spec.value("user", ""), {}};
    for (const auto& g : spec.value("groups", json::array()))
      if (g.is_string()) subject.groups.push_back(g.get<std::string>());
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
  Decision decision = rbac_decide(context.store, subject, attributes_of(spec));
  review["status"] = {{"allowed", decision.allowed}};
  if (!decision.reason.empty()) review["status"]["reason"] = decision.reason;
  return review;
}

}  // namespace kubelite
