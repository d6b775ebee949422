#pragma once
// The patch metadata of the built-in types (the Go struct tags patchStrategy/patchMergeKey and the OpenAPI
// x-kubernetes-list-type/-list-map-keys) that strategic merge patch and server-side apply need. (patchStrategy
// retainKeys is not listed: the server honours a $retainKeys directive wherever a client sends one.) Only the
// fields whose behaviour differs from the defaults are described: an unknown field is a map that merges
// key by key, or a list that is replaced as a whole ("atomic").
#include <string>
#include <vector>

namespace kubelite::schema {

enum class ListType { Atomic, Map, Set };

struct Field {
  std::string type;               // named struct type of the value, or of the items of a list; "" = untyped
  ListType list = ListType::Atomic;
  std::string merge_key;          // strategic merge patch key of a Map list (patchMergeKey)
  std::vector<std::string> keys;  // server-side apply keys of a Map list (x-kubernetes-list-map-keys)
  bool atomic = false;            // server-side apply replaces it as a whole (x-kubernetes-map-type: atomic);
                                  // strategic merge patch still merges it
};

// The field `name` of struct `type`, or null when nothing special is known about it.
const Field* field(const std::string& type, const std::string& name);

// The struct type of a whole object of this kind ("Object" — only ObjectMeta known — for kinds without
// special fields and for custom resources).
std::string root_type(const std::string& group, const std::string& kind);

// Groups served by kube-apiserver itself (strategic merge patch works only for their kinds).
bool is_builtin_group(const std::string& group);

}  // namespace kubelite::schema
