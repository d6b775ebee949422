#pragma once
// RBAC decisions from the stored Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, as Kubernetes'
// plugin/pkg/auth/authorizer/rbac/rbac.go makes them: members of system:masters may do anything; anyone else
// needs a binding (cluster-wide, or in the request's namespace) to a role with a rule that covers the request.
// Aggregated ClusterRoles (aggregationRule) are not expanded.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kubelite/reviews.h"

namespace kubelite {

class Store;

// What a SubjectAccessReview's resourceAttributes / nonResourceAttributes name.
struct AccessAttributes {
  std::string verb, group, resource, subresource, name, ns;
  bool non_resource = false;
  std::string path;  // non-resource requests
};

struct Decision {
  bool allowed = false;
  std::string reason;  // which binding allowed it, as the real authorizer words it
};

Decision rbac_decide(Store& store, const UserInfo& user, const AccessAttributes& attributes);

// kube-apiserver's --token-auth-file: CSV lines `token,user,uid,"group1,group2"` (the groups column optional);
// throws std::runtime_error naming the line that is malformed.
std::map<std::string, UserInfo> parse_token_file(const std::string& text);

}  // namespace kubelite
