#pragma once
// The authorization.k8s.io and authentication.k8s.io review kinds (`kubectl auth can-i`, `kubectl auth whoami`,
// a web console checking its users): answered at once, never stored. Access reviews are decided by RBAC
// (kubelite/rbac.h); TokenReviews know the bearer tokens kubelite accepts.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "kubelite/registry.h"

namespace kubelite {

// Who sent a request, as the authenticator saw it.
struct UserInfo {
  std::string username;
  std::vector<std::string> groups;
};

class Store;

// What the answers need besides the request: the stored RBAC objects and the token table.
struct ReviewContext {
  Store& store;
  const std::map<std::string, UserInfo>& tokens;  // bearer token → user
};

// True for TokenReview, SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview
// and SelfSubjectReview.
bool is_review(const ResourceInfo& r);
// The review `body` answered (the 201 body); throws ApiError 400/422 for a malformed one.
nlohmann::json answer_review(const ResourceInfo& r, const std::string& ns, nlohmann::json body, const UserInfo& user,
                             const ReviewContext& context);

}  // namespace kubelite
