#include "kubelite/rbac.h"

#include <algorithm>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "kubelite/store.h"

namespace kubelite {

using json = nlohmann::json;

namespace {

constexpr const char* kRbac = "rbac.authorization.k8s.io/";

bool has(const json& list, const std::string& value) {
  if (!list.is_array()) return false;
  for (const auto& v : list)
    if (v.is_string() && (v.get_ref<const std::string&>() == "*" || v.get_ref<const std::string&>() == value)) return true;
  return false;
}

// rbac/v1 helpers: ResourceMatches (with "*/subresource"), ResourceNameMatches, NonResourceURLMatches.
bool rule_allows(const json& rule, const AccessAttributes& a) {
  if (!has(rule.value("verbs", json::array()), a.verb)) return false;
  if (a.non_resource) {
    for (const auto& url : rule.value("nonResourceURLs", json::array())) {
      std::string u = url.is_string() ? url.get<std::string>() : "";
      if (u == "*" || u == a.path || (!u.empty() && u.back() == '*' && a.path.starts_with(u.substr(0, u.size() - 1))))
        return true;
    }
    return false;
  }
  if (!has(rule.value("apiGroups", json::array()), a.group)) return false;
  std::string combined = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  bool resource = false;
  for (const auto& r : rule.value("resources", json::array())) {
    std::string s = r.is_string() ? r.get<std::string>() : "";
    if (s == "*" || s == combined || (!a.subresource.empty() && s == "*/" + a.subresource)) resource = true;
  }
  if (!resource) return false;
  json names = rule.value("resourceNames", json::array());
  return names.empty() || (!a.name.empty() && has(names, a.name));
}

bool subject_matches(const json& subject, const UserInfo& user, const std::string& binding_ns) {
  std::string kind = subject.value("kind", ""), name = subject.value("name", "");
  if (kind == "User") return name == user.username;
  if (kind == "Group") return std::find(user.groups.begin(), user.groups.end(), name) != user.groups.end();
  if (kind == "ServiceAccount") {
    std::string ns = subject.value("namespace", binding_ns);
    return user.username == "system:serviceaccount:" + ns + ":" + name;
  }
  return false;
}

json stored(Store& store, const std::string& resource, const std::string& key) {
  ObjectPtr object = store.get(kRbac + resource, key);
  return object ? json::parse(object->json) : json();
}

// The first binding of `bindings` (a collection) that names the user and whose role covers the request.
std::optional<std::string> allowed_by(Store& store, const std::string& bindings, const UserInfo& user,
                                      const AccessAttributes& a, const std::string& only_ns) {
  for (const auto& [key, object] : store.collection(kRbac + bindings)) {
    json binding = json::parse(object->json);
    std::string ns = binding["metadata"].value("namespace", "");
    if (!only_ns.empty() && ns != only_ns) continue;
    const json& subjects = binding.value("subjects", json::array());
    auto subject = std::find_if(subjects.begin(), subjects.end(),
                                [&](const json& s) { return subject_matches(s, user, ns); });
    if (subject == subjects.end()) continue;
    json ref = binding.value("roleRef", json::object());
    std::string role_kind = ref.value("kind", ""), role_name = ref.value("name", "");
    json role = role_kind == "ClusterRole" ? stored(store, "clusterroles", role_name)
                                           : stored(store, "roles", ns + "/" + role_name);
    if (!role.is_object()) continue;
    for (const auto& rule : role.value("rules", json::array()))
      if (rule_allows(rule, a))
        return "RBAC: allowed by " + std::string(ns.empty() ? "ClusterRoleBinding" : "RoleBinding") + " \"" +
               binding["metadata"].value("name", "") + (ns.empty() ? "" : "/" + ns) + "\" of " + role_kind + " \"" +
               role_name + "\" to " + subject->value("kind", "") + " \"" + subject->value("name", "") + "\"";
  }
  return std::nullopt;
}

}  // namespace

Decision rbac_decide(Store& store, const UserInfo& user, const AccessAttributes& a) {
  // The privileged-group authorizer runs before RBAC and gives no reason.
  if (std::find(user.groups.begin(), user.groups.end(), "system:masters") != user.groups.end()) return {true, ""};
  std::shared_lock lock(store.mutex());
  if (auto reason = allowed_by(store, "clusterrolebindings", user, a, "")) return {true, *reason};
  if (!a.non_resource && !a.ns.empty())
    if (auto reason = allowed_by(store, "rolebindings", user, a, a.ns)) return {true, *reason};
  return {false, ""};
}

std::map<std::string, UserInfo> parse_token_file(const std::string& text) {
  std::map<std::string, UserInfo> users;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    size_t start = 0;
    for (int i = 0; i < 3; ++i) {
      if (start > line.size()) {
        fields.push_back("");
        continue;
      }
      size_t comma = line.find(',', start);
      fields.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      start = comma == std::string::npos ? line.size() + 1 : comma + 1;
    }
    if (fields[0].empty() || fields[1].empty() || fields[2].empty())
      throw std::runtime_error("--token-auth-file: line " + std::to_string(number) +
                               ": expected token,user,uid[,\"group1,group2\"]");
    UserInfo user{fields[1], {}};
    if (start < line.size()) {
      std::string groups = line.substr(start);
      if (groups.size() >= 2 && groups.front() == '"' && groups.back() == '"') groups = groups.substr(1, groups.size() - 2);
      std::istringstream list(groups);
      for (std::string g; std::getline(list, g, ',');)
        if (!g.empty()) user.groups.push_back(g);
    }
    user.groups.push_back("system:authenticated");
    users[fields[0]] = std::move(user);
  }
  return users;
}

}  // namespace kubelite
