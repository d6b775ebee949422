// RBAC decisions and the token file: the answers SubjectAccessReviews and TokenReviews give.
#include <gtest/gtest.h>

#include <mutex>

#include "kubelite/rbac.h"
#include "kubelite/store.h"

namespace kubelite {
namespace {

using json = nlohmann::json;

void put(Store& store, const std::string& resource, const std::string& key, const json& object) {
  std::unique_lock lock(store.mutex());
  auto stored = std::make_shared<StoredObject>();
  stored->key = key;
  stored->json = object.dump();
  stored->rv = store.next_rv();
  store.put("rbac.authorization.k8s.io/" + resource, stored);
}

AccessAttributes velero(const std::string& verb, const std::string& resource, const std::string& ns = "velero") {
  AccessAttributes a;
  a.verb = verb;
  a.group = "velero.io";
  a.resource = resource;
  a.ns = ns;
  return a;
}

class Rbac : public ::testing::Test {
 protected:
  Rbac() {
    put(store, "roles", "velero/reader",
        {{"metadata", {{"name", "reader"}, {"namespace", "velero"}}},
         {"rules", {{{"apiGroups", {"velero.io"}}, {"resources", {"backups"}}, {"verbs", {"get", "list", "watch"}}}}}});
    put(store, "rolebindings", "velero/readers",
        {{"metadata", {{"name", "readers"}, {"namespace", "velero"}}},
         {"roleRef", {{"kind", "Role"}, {"name", "reader"}}},
         {"subjects", {{{"kind", "Group"}, {"name", "viewers"}}}}});
    put(store, "clusterroles", "operator",
        {{"metadata", {{"name", "operator"}}},
         {"rules", {{{"apiGroups", {"*"}}, {"resources", {"*"}}, {"verbs", {"*"}}},
                    {{"nonResourceURLs", {"/healthz/*"}}, {"verbs", {"get"}}}}}});
    put(store, "clusterrolebindings", "operators",
        {{"metadata", {{"name", "operators"}}},
         {"roleRef", {{"kind", "ClusterRole"}, {"name", "operator"}}},
         {"subjects", {{{"kind", "ServiceAccount"}, {"name", "ops"}, {"namespace", "tools"}}}}});
    put(store, "clusterroles", "one-schedule",
        {{"metadata", {{"name", "one-schedule"}}},
         {"rules", {{{"apiGroups", {"velero.io"}}, {"resources", {"schedules"}}, {"verbs", {"update"}},
                     {"resourceNames", {"daily"}}}}}});
    put(store, "rolebindings", "velero/alice-daily",
        {{"metadata", {{"name", "alice-daily"}, {"namespace", "velero"}}},
         {"roleRef", {{"kind", "ClusterRole"}, {"name", "one-schedule"}}},
         {"subjects", {{{"kind", "User"}, {"name", "alice"}}}}});
  }
  Store store{100};
};

TEST_F(Rbac, RoleBindingGrantsOnlyItsVerbsInItsNamespace) {
  UserInfo viewer{"bob", {"viewers", "system:authenticated"}};
  EXPECT_TRUE(rbac_decide(store, viewer, velero("list", "backups")).allowed);
  EXPECT_FALSE(rbac_decide(store, viewer, velero("create", "backups")).allowed);
  EXPECT_FALSE(rbac_decide(store, viewer, velero("list", "restores")).allowed);
  EXPECT_FALSE(rbac_decide(store, viewer, velero("list", "backups", "other")).allowed);
  Decision d = rbac_decide(store, viewer, velero("get", "backups"));
  EXPECT_NE(d.reason.find("RoleBinding \"readers/velero\" of Role \"reader\" to Group \"viewers\""), std::string::npos)
      << d.reason;
}

TEST_F(Rbac, ClusterRoleBindingWildcardsServiceAccountsAndNonResourceUrls) {
  UserInfo ops{"system:serviceaccount:tools:ops", {"system:serviceaccounts"}};
  EXPECT_TRUE(rbac_decide(store, ops, velero("delete", "backups", "anywhere")).allowed);
  AccessAttributes health;
  health.non_resource = true;
  health.verb = "get";
  health.path = "/healthz/ready";
  EXPECT_TRUE(rbac_decide(store, ops, health).allowed);
  health.verb = "post";
  EXPECT_FALSE(rbac_decide(store, ops, health).allowed);
  EXPECT_FALSE(rbac_decide(store, {"system:serviceaccount:other:ops", {}}, velero("get", "backups")).allowed);
}

TEST_F(Rbac, ResourceNamesAndMasters) {
  UserInfo alice{"alice", {"system:authenticated"}};
  auto update = velero("update", "schedules");
  update.name = "daily";
  EXPECT_TRUE(rbac_decide(store, alice, update).allowed);
  update.name = "weekly";
  EXPECT_FALSE(rbac_decide(store, alice, update).allowed);
  update.name = "";
  EXPECT_FALSE(rbac_decide(store, alice, update).allowed);
  EXPECT_TRUE(rbac_decide(store, {"root", {"system:masters"}}, velero("delete", "anything")).allowed);
  EXPECT_FALSE(rbac_decide(store, {"nobody", {"system:authenticated"}}, velero("get", "backups")).allowed);
}

TEST(TokenFile, ParsesKubeApiserverCsv) {
  auto users = parse_token_file("# comment\nt1,alice,uid1,\"dev,ops\"\nt2,bob,uid2\n");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users["t1"].username, "alice");
  EXPECT_EQ(users["t1"].groups, (std::vector<std::string>{"dev", "ops", "system:authenticated"}));
  EXPECT_EQ(users["t2"].groups, (std::vector<std::string>{"system:authenticated"}));
  EXPECT_THROW(parse_token_file("t3,carol\n"), std::runtime_error);
}

}  // namespace
}  // namespace kubelite
