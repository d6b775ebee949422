#pragma once
// The authorization.k8s.io and authentication.k8s.io review kinds that clients ask about themselves
// (`kubectl auth can-i`, `kubectl auth whoami`): answered at once, never stored, and every authenticated
// caller is a cluster administrator here.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "kubelite/registry.h"

namespace kubelite {

// Who sent a request, as the authenticator saw it.
struct UserInfo {
  std::string username;
  std::vector<std::string> groups;
};

// True for SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview
// and SelfSubjectReview.
bool is_review(const ResourceInfo& r);
// The review `body` answered (the 201 body); throws ApiError 400/422 for a malformed one.
nlohmann::json answer_review(const ResourceInfo& r, const std::string& ns, nlohmann::json body, const UserInfo& user);

}  // namespace kubelite
