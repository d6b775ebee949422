// Server-side apply and managedFields bookkeeping in the FieldsV1 format of sigs.k8s.io/structured-merge-diff:
// a field set is a set of paths whose elements are "f:<field>", "k:<json of the list-map keys>" (items of
// associative lists) and "v:<json value>" (items of sets); a path whose node also has children is written
// with a "." child. Ownership, conflicts and removal follow the server-side apply documentation.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "kubelite/semantics/patch.h"
#include "kubelite/semantics/patch_schema.h"

namespace kubelite {
namespace {

using Path = std::vector<std::string>;
using FieldSet = std::set<Path>;

// Server-owned or identifying fields never appear in a field set.
bool ignored(const Path& parent, const std::string& key) {
  if (parent.empty()) return key == "apiVersion" || key == "kind";
  if (parent.size() == 1 && parent[0] == "f:metadata") {
    static const std::set<std::string> server_owned = {
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
        "deletionGracePeriodSeconds", "managedFields", "selfLink"};
    return server_owned.count(key) > 0;
  }
  return false;
}

// The list-map key of an item: its key fields as a JSON object. Service and container ports are keyed by
// port and protocol, and protocol defaults to TCP before the key is taken.
std::string item_key(const json& item, const std::vector<std::string>& keys) {
  json k = json::object();
  for (const auto& name : keys) {
    auto it = item.is_object() ? item.find(name) : item.end();
    if (it != item.end())
      k[name] = *it;
    else if (name == "protocol")
      k[name] = "TCP";
  }
  return "k:" + k.dump();
}

const schema::Field* list_field(const std::string& type, const std::string& name, const json& value) {
  const schema::Field* f = schema::field(type, name);
  return f && value.is_array() && !value.empty() && f->list != schema::ListType::Atomic ? f : nullptr;
}

// Non-pointer structs of the Go types: they always exist in the typed object, so an Update never "creates"
// them and their entry gets no "." (maps and pointer structs such as rollingUpdate do).
bool always_present(const std::string& key) {
  return key == "metadata" || key == "spec" || key == "status" || key == "template" || key == "jobTemplate" ||
         key == "strategy" || key == "updateStrategy";
}

// Every field of `value` (an object of struct `type`). With `old` (Update), only fields that differ from it,
// plus the maps and list items the update created; without (Apply), every leaf and list item.
void collect(const json& value, const std::string& type, const json* old, bool update, Path& path, FieldSet& out) {
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string& key = it.key();
    if (ignored(path, key) || it->is_null()) continue;
    const schema::Field* f = schema::field(type, key);
    const json* before = nullptr;
    if (old && old->is_object()) {
      auto o = old->find(key);
      if (o != old->end()) before = &*o;
    }
    path.push_back("f:" + key);
    if (it->is_object() && !it->empty() && !(f && f->atomic)) {
      if (update && !before && !always_present(key)) out.insert(path);
      collect(*it, f ? f->type : "", before, update, path, out);
    } else if (const schema::Field* lf = list_field(type, key, *it)) {
      std::map<std::string, const json*> old_items;  // the items before the update, by list-map key
      if (update && before && before->is_array() && lf->list == schema::ListType::Map)
        for (const json& b : *before) old_items.emplace(item_key(b, lf->keys), &b);
      for (const json& item : *it) {
        if (lf->list == schema::ListType::Set) {
          path.push_back("v:" + item.dump());
          bool existed = before && before->is_array() && std::find(before->begin(), before->end(), item) != before->end();
          if (!update || !existed) out.insert(path);
        } else {
          path.push_back(item_key(item, lf->keys));
          auto found = old_items.find(path.back());
          const json* old_item = found == old_items.end() ? nullptr : found->second;
          if (!update || !old_item) out.insert(path);
          if (item.is_object()) collect(item, lf->type, old_item, update, path, out);
        }
        path.pop_back();
      }
    } else if (!update || !before || *before != *it) {
      out.insert(path);
    }
    path.pop_back();
  }
}

// Where a walk is, for ignored(): at the root, directly in metadata, or anywhere else.
enum class Level { Root, Metadata, Other };

// A member of a FieldsV1 trie that also has children is marked with ".".
void mark_member(json& node) {
  if (!node.empty() && !node.contains(".")) node["."] = json::object();
}

// The FieldsV1 trie of a create's Update entry, built directly while walking the object (`node`, an object, receives
// the children): the fields collect() lists when there is no old object, without a set of paths in between.
void collect_created(const json& value, const std::string& type, Level level, json& node) {
  static const Path root, metadata = {"f:metadata"};
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string& key = it.key();
    if (it->is_null() || (level == Level::Root && ignored(root, key)) || (level == Level::Metadata && ignored(metadata, key)))
      continue;
    const schema::Field* f = schema::field(type, key);
    json child = json::object();
    bool member = true;
    if (it->is_object() && !it->empty() && !(f && f->atomic)) {
      member = !always_present(key);
      collect_created(*it, f ? f->type : "", level == Level::Root && key == "metadata" ? Level::Metadata : Level::Other,
                      child);
    } else if (const schema::Field* lf = list_field(type, key, *it)) {
      member = false;  // a list's items are its members, not the list
      for (const json& item : *it) {
        const bool set = lf->list == schema::ListType::Set;
        json& item_node = child[set ? "v:" + item.dump() : item_key(item, lf->keys)];
        if (item_node.is_null()) item_node = json::object();
        if (!set && item.is_object()) collect_created(item, lf->type, Level::Other, item_node);
        mark_member(item_node);
      }
    }
    if (!member && child.empty()) continue;
    json& slot = node["f:" + key];
    slot = std::move(child);
    if (member) mark_member(slot);
  }
}

FieldSet field_set(const json& object, const std::string& type, const json* old, bool update) {
  FieldSet out;
  Path path;
  if (object.is_object()) collect(object, type, old, update, path, out);
  return out;
}

// Navigation by path element; null when the element does not exist.
json* child(json& node, const std::string& element) {
  if (element.size() < 2) return nullptr;
  const std::string body = element.substr(2);
  if (element[0] == 'f') {
    if (!node.is_object()) return nullptr;
    auto it = node.find(body);
    return it == node.end() ? nullptr : &*it;
  }
  if (!node.is_array()) return nullptr;
  if (element[0] == 'k') {
    json keys = json::parse(body, nullptr, false);
    if (!keys.is_object()) return nullptr;
    std::vector<std::string> names;
    for (auto it = keys.begin(); it != keys.end(); ++it) names.push_back(it.key());
    for (json& item : node)
      if (item_key(item, names) == element) return &item;
    return nullptr;
  }
  if (element[0] == 'v') {
    json wanted = json::parse(body, nullptr, false);
    for (json& item : node)
      if (item == wanted) return &item;
  }
  return nullptr;
}

// Every node of an object by its path (fields, list items), built once per call so that checking thousands
// of owned paths does not walk the document from the root each time.
using PathIndex = std::map<Path, const json*>;

void index_nodes(const json& value, const std::string& type, Path& path, PathIndex& out) {
  for (auto it = value.begin(); it != value.end(); ++it) {
    path.push_back("f:" + it.key());
    out.emplace(path, &*it);
    const schema::Field* f = schema::field(type, it.key());
    if (it->is_object() && !(f && f->atomic)) {
      index_nodes(*it, f ? f->type : "", path, out);
    } else if (it->is_array() && f && f->list != schema::ListType::Atomic) {
      for (const json& item : *it) {
        path.push_back(f->list == schema::ListType::Set ? "v:" + item.dump() : item_key(item, f->keys));
        out.emplace(path, &item);
        if (item.is_object() && f->list == schema::ListType::Map) index_nodes(item, f->type, path, out);
        path.pop_back();
      }
    }
    path.pop_back();
  }
}

PathIndex index_paths(const json& object, const std::string& type) {
  PathIndex out;
  Path path;
  if (object.is_object()) index_nodes(object, type, path, out);
  return out;
}

const json* find_node(const PathIndex& index, const Path& path) {
  auto it = index.find(path);
  return it == index.end() ? nullptr : it->second;
}

void remove_path(json& doc, const Path& path) {
  if (path.empty()) return;
  json* parent = &doc;
  for (size_t i = 0; i + 1 < path.size(); ++i)
    if (!(parent = child(*parent, path[i]))) return;
  json* target = child(*parent, path.back());
  if (!target) return;
  if (parent->is_object()) {
    parent->erase(path.back().substr(2));
  } else {
    for (auto it = parent->begin(); it != parent->end(); ++it)
      if (&*it == target) {
        parent->erase(it);
        break;
      }
  }
}

// ".spec.containers[name=\"nginx\"].image" — structured-merge-diff's Path.String().
std::string path_string(const Path& path) {
  std::string s;
  for (const auto& e : path) {
    const std::string body = e.substr(2);
    if (e[0] == 'f') {
      s += "." + body;
    } else if (e[0] == 'v') {
      s += "[=" + body + "]";
    } else {
      json keys = json::parse(body, nullptr, false);
      std::string inner;
      for (auto it = keys.begin(); it != keys.end(); ++it) inner += (inner.empty() ? "" : ",") + it.key() + "=" + it->dump();
      s += "[" + inner + "]";
    }
  }
  return s;
}

json to_fields_v1(const FieldSet& set) {
  json root = json::object();
  for (const Path& p : set) {
    json* node = &root;
    for (const auto& e : p) node = &(*node)[e];
    if (node->is_null()) *node = json::object();
  }
  // A member that also has children is marked with ".".
  for (const Path& p : set) {
    json* node = &root;
    for (const auto& e : p) node = &(*node)[e];
    if (!node->empty() && !node->contains(".")) (*node)["."] = json::object();
  }
  return root;
}

void from_fields_v1(const json& node, Path& path, FieldSet& out) {
  if (!node.is_object()) return;
  if (node.empty() && !path.empty()) out.insert(path);
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == ".") {
      out.insert(path);
      continue;
    }
    path.push_back(it.key());
    from_fields_v1(*it, path, out);
    path.pop_back();
  }
}

// Clients send anything: a field of the wrong type reads as absent instead of throwing.
std::string string_or(const json& object, const char* key, const std::string& fallback = "") {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

struct Entry {
  std::string manager, operation, api_version, time, subresource;
  FieldSet fields;
  bool same_owner(const Entry& o) const {
    return manager == o.manager && operation == o.operation && subresource == o.subresource;
  }
};

Entry read_entry(const json& e) {
  Entry entry{string_or(e, "manager"), string_or(e, "operation"), string_or(e, "apiVersion"),
              string_or(e, "time"), string_or(e, "subresource"), {}};
  Path path;
  if (auto f = e.find("fieldsV1"); f != e.end()) from_fields_v1(*f, path, entry.fields);
  return entry;
}

std::vector<Entry> read_entries(const json& object) {
  std::vector<Entry> entries;
  if (!object.is_object()) return entries;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return entries;
  auto mf = meta->find("managedFields");
  if (mf == meta->end() || !mf->is_array()) return entries;
  for (const json& e : *mf)
    if (e.is_object()) entries.push_back(read_entry(e));
  return entries;
}

// The apiserver's order of managedFields entries (sortEncodedManagedFields): operation, time, manager, apiVersion.
bool entry_before(const Entry& a, const Entry& b) {
  if (a.operation != b.operation) return a.operation < b.operation;
  if (a.time != b.time) return a.time < b.time;
  if (a.manager != b.manager) return a.manager < b.manager;
  return a.api_version < b.api_version;
}

json encode_entry(const Entry& e, json fields_v1) {
  json j = {{"manager", e.manager}, {"operation", e.operation}, {"apiVersion", e.api_version},
            {"fieldsType", "FieldsV1"}, {"fieldsV1", std::move(fields_v1)}};
  if (!e.time.empty()) j["time"] = e.time;  // a nil time is omitted, as metav1.ManagedFieldsEntry encodes it
  if (!e.subresource.empty()) j["subresource"] = e.subresource;
  return j;
}

// The list of `entries` without owners of nothing, sorted like the apiserver sorts it.
json encode_entries(std::vector<Entry> entries) {
  entries.erase(std::remove_if(entries.begin(), entries.end(), [](const Entry& e) { return e.fields.empty(); }),
                entries.end());
  std::stable_sort(entries.begin(), entries.end(), entry_before);
  json list = json::array();
  for (const auto& e : entries) list.push_back(encode_entry(e, to_fields_v1(e.fields)));
  return list;
}

// Drops fields that no longer exist and stores the encoded list in the object.
void write_entries(json& object, const std::string& type, std::vector<Entry> entries) {
  const PathIndex existing = index_paths(object, type);
  for (auto& e : entries)
    for (auto it = e.fields.begin(); it != e.fields.end();)
      it = existing.count(*it) ? std::next(it) : e.fields.erase(it);
  json list = encode_entries(std::move(entries));
  if (!object["metadata"].is_object()) object["metadata"] = json::object();
  if (list.empty())
    object["metadata"].erase("managedFields");
  else
    object["metadata"]["managedFields"] = std::move(list);
}

// A FieldsV1 trie as structured-merge-diff decodes it: objects whose keys are "." or path elements ("f:<name>",
// "k:<json object>", "v:<json value>", "i:<index>").
bool valid_fields_v1(const json& node) {
  if (!node.is_object()) return false;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string& k = it.key();
    if (k != ".") {
      if (k.size() < 2 || k[1] != ':') return false;
      const std::string_view body = std::string_view(k).substr(2);
      bool ok = k[0] == 'f' ||
                (k[0] == 'k' && body.starts_with('{') && json::accept(body)) ||
                (k[0] == 'v' && json::accept(body)) ||
                (k[0] == 'i' && !body.empty() && std::all_of(body.begin(), body.end(), [](char c) { return c >= '0' && c <= '9'; }));
      if (!ok) return false;
    }
    if (!valid_fields_v1(*it)) return false;
  }
  return true;
}

// What the apiserver makes of the managedFields a write carries (fieldmanager.go Update, DecodeManagedFields).
enum class Given { Keep, Replace, Reset };

Given classify(const json& given) {
  if (!given.is_array() || given.empty()) return Given::Keep;  // clients unaware of managedFields lose nothing
  if (given.size() == 1 && given[0].is_object() && given[0].empty()) return Given::Reset;
  for (const json& e : given) {
    if (!e.is_object()) return Given::Keep;
    const std::string operation = string_or(e, "operation");
    if (operation != "Apply" && operation != "Update") return Given::Keep;
    if (string_or(e, "apiVersion").empty() || string_or(e, "fieldsType") != "FieldsV1") return Given::Keep;
    for (const char* text : {"manager", "time", "subresource"})
      if (auto it = e.find(text); it != e.end() && !it->is_string()) return Given::Keep;
    if (auto f = e.find("fieldsV1"); f != e.end() && !valid_fields_v1(*f)) return Given::Keep;
  }
  return Given::Replace;
}

// The trie re-encoded as the apiserver does: a member without children is "{}", not {".":{}}.
void normalize_fields_v1(json& node) {
  if (node.size() == 1 && node.contains(".")) {
    node = json::object();
    return;
  }
  for (auto& child : node) normalize_fields_v1(child);
}

std::string group_of(const std::string& api_version) {
  auto slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

std::string type_of(const json& object, const std::string& api_version) {
  return schema::root_type(group_of(string_or(object, "apiVersion", api_version)), string_or(object, "kind"));
}

void apply_merge(json& live, const json& applied, const std::string& type);

// The order structured-merge-diff gives a merged associative list or set (typed/merge.go visitListItems):
// live and applied items are walked together, live-only items stay where they were, applied items keep
// the applied order and new ones land where the applied list puts them.
json merge_list_in_order(const json& live, const json& applied, const schema::Field& f) {
  auto key = [&](const json& item) {
    return f.list == schema::ListType::Set ? item.dump() : item_key(item, f.keys);
  };
  auto merged_item = [&](const json* l, const json& r) {
    if (f.list == schema::ListType::Set || !l || !l->is_object() || !r.is_object()) return r;
    json out = *l;
    apply_merge(out, r, f.type);
    return out;
  };
  std::vector<std::string> lk, rk;
  std::map<std::string, const json*> lhs, rhs;
  for (const json& l : live) lhs.emplace(lk.emplace_back(key(l)), &l);
  for (const json& r : applied) rhs.emplace(rk.emplace_back(key(r)), &r);
  std::vector<std::string> shared;
  for (const auto& k : rk)
    if (lhs.count(k)) shared.push_back(k);
  size_t next_shared = 0;  // index into `shared` of the shared item expected next
  std::set<std::string> done;
  json out = json::array();
  size_t li = 0, ri = 0;
  while (li < lk.size() || ri < rk.size()) {
    if (li < lk.size() && ri < rk.size()) {
      if (lk[li] == rk[ri]) {
        done.insert(rk[ri]);
        out.push_back(merged_item(lhs[lk[li]], applied[ri]));
        ++li, ++ri, ++next_shared;
        continue;
      }
      if (rhs.count(lk[li]) && next_shared < shared.size() && shared[next_shared] != lk[li]) {
        ++li;  // shared, but the applied order puts another shared item first
        continue;
      }
    }
    if (li < lk.size()) {
      if (!rhs.count(lk[li])) {
        out.push_back(live[li]);
        ++li;
        continue;
      }
      if (done.count(lk[li])) {
        ++li;
        continue;
      }
    }
    if (ri < rk.size()) {
      done.insert(rk[ri]);
      out.push_back(merged_item(lhs.count(rk[ri]) ? lhs[rk[ri]] : nullptr, applied[ri]));
      if (next_shared < shared.size() && shared[next_shared] == rk[ri]) ++next_shared;
      ++ri;
    }
  }
  return out;
}

// Apply's merge: maps merge, associative lists merge item by item, sets union, everything else replaces.
void apply_merge(json& live, const json& applied, const std::string& type) {
  for (auto it = applied.begin(); it != applied.end(); ++it) {
    if (it->is_null()) continue;
    const std::string& key = it.key();
    const schema::Field* f = schema::field(type, key);
    auto existing = live.find(key);
    if (existing == live.end()) {
      live[key] = *it;
    } else if (it->is_object() && existing->is_object() && !(f && f->atomic)) {
      apply_merge(*existing, *it, f ? f->type : "");
    } else if (it->is_array() && existing->is_array() && f && f->list != schema::ListType::Atomic) {
      *existing = merge_list_in_order(*existing, *it, *f);
    } else {
      *existing = *it;
    }
  }
}

// `manager`'s Update entry of `subresource` takes the `changed` fields from every other entry (and is created when
// it does not exist yet).
void take_ownership(std::vector<Entry>& entries, const FieldSet& changed, const std::string& manager,
                    const std::string& api_version, const std::string& now_rfc3339, const std::string& subresource) {
  bool found = false;
  for (Entry& e : entries) {
    if (e.manager == manager && e.operation == "Update" && e.subresource == subresource) {
      found = true;
      if (!changed.empty()) {
        e.fields.insert(changed.begin(), changed.end());
        e.time = now_rfc3339;
        e.api_version = api_version;
      }
    } else {
      for (const Path& p : changed) e.fields.erase(p);
    }
  }
  if (!found && !changed.empty())
    entries.push_back(Entry{manager, "Update", api_version, now_rfc3339, subresource, changed});
}

bool has_descendant(const FieldSet& set, const Path& path) {
  auto it = set.upper_bound(path);
  return it != set.end() && it->size() > path.size() && std::equal(path.begin(), path.end(), it->begin());
}

std::string manager_description(const Entry& e) {
  std::string s = "\"" + e.manager + "\"";
  if (!e.subresource.empty()) s += " with subresource \"" + e.subresource + "\"";
  if (e.operation == "Update") s += " using " + e.api_version;
  return s;
}

}  // namespace

json server_side_apply(const json& live, const json& applied, const std::string& manager, bool force,
                       const std::string& api_version, const std::string& now_rfc3339) {
  if (manager.empty()) {
    json details = {{"group", "meta.k8s.io"},
                    {"kind", "PatchOptions"},
                    {"causes", json::array({{{"reason", "FieldValueRequired"},
                                             {"message", "Required value: is required for apply patch"},
                                             {"field", "fieldManager"}}})}};
    throw ApiError(422, "Invalid",
                   "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                   details);
  }
  if (!applied.is_object()) throw ApiError(400, "BadRequest", "apply patch must be an object");
  if (applied.contains("metadata") && applied["metadata"].is_object() &&
      applied["metadata"].contains("managedFields") && !applied["metadata"]["managedFields"].is_null())
    throw ApiError(400, "BadRequest", "metadata.managedFields must be nil");

  const std::string type = type_of(applied, api_version);
  const FieldSet applied_set = field_set(applied, type, nullptr, false);
  Entry mine{manager, "Apply", api_version, now_rfc3339, "", applied_set};

  if (live.is_null()) {
    json created = json::object();
    apply_merge(created, applied, type);
    write_entries(created, type, {mine});
    return created;
  }

  std::vector<Entry> entries = read_entries(live);
  FieldSet previously_applied;
  struct Conflict {
    const Entry* owner;
    Path path;
  };
  std::vector<Conflict> conflicts;
  const PathIndex live_nodes = index_paths(live, type), applied_nodes = index_paths(applied, type);
  for (const Entry& e : entries) {
    if (e.same_owner(mine)) {
      previously_applied = e.fields;
      continue;
    }
    for (const Path& p : applied_set) {
      if (!e.fields.count(p) || has_descendant(applied_set, p)) continue;
      const json* have = find_node(live_nodes, p);
      const json* want = find_node(applied_nodes, p);
      if (have && want && *have != *want) conflicts.push_back({&e, p});
    }
  }
  if (!conflicts.empty() && !force) {
    json causes = json::array();
    for (const auto& c : conflicts)
      causes.push_back({{"reason", "FieldManagerConflict"},
                        {"message", "conflict with " + manager_description(*c.owner)},
                        {"field", path_string(c.path)}});
    std::string message;
    if (conflicts.size() == 1) {
      message = "Apply failed with 1 conflict: conflict with " + manager_description(*conflicts[0].owner) + ": " +
                path_string(conflicts[0].path);
    } else {
      std::vector<std::string> owners;
      for (const auto& c : conflicts) owners.push_back(manager_description(*c.owner));
      std::sort(owners.begin(), owners.end());
      owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
      std::string lines;
      for (const auto& o : owners) {
        if (!lines.empty()) lines += '\n';
        lines.append("conflicts with ").append(o).append(":");
        for (const auto& c : conflicts)
          if (manager_description(*c.owner) == o) lines.append("\n- ").append(path_string(c.path));
      }
      message = "Apply failed with " + std::to_string(conflicts.size()) + " conflicts: " + lines;
    }
    throw ApiError(409, "Conflict", message, json{{"causes", causes}});
  }

  json result = live;
  apply_merge(result, applied, type);

  // Fields this manager applied before and omits now go away unless someone else still owns them.
  FieldSet owned_by_others;
  for (const Entry& e : entries)
    if (!e.same_owner(mine)) owned_by_others.insert(e.fields.begin(), e.fields.end());
  std::vector<Path> dropped;
  for (const Path& p : previously_applied)
    if (!applied_set.count(p) && !owned_by_others.count(p) && !has_descendant(applied_set, p)) dropped.push_back(p);
  for (auto it = dropped.rbegin(); it != dropped.rend(); ++it) remove_path(result, *it);

  std::vector<Entry> updated;
  for (Entry& e : entries) {
    if (e.same_owner(mine)) continue;
    if (force)
      for (const auto& c : conflicts)
        if (c.owner == &e) e.fields.erase(c.path);
    updated.push_back(std::move(e));
  }
  updated.push_back(std::move(mine));
  write_entries(result, type, std::move(updated));
  return result;
}

void update_managed_fields(json& updated, const json& old, const std::string& manager,
                           const std::string& api_version, const std::string& now_rfc3339,
                           const std::string& subresource) {
  // Valid managedFields in the body (a client setting or resetting them) win over the stored ones.
  const json* given = nullptr;
  if (auto meta = updated.find("metadata"); meta != updated.end() && meta->is_object())
    if (auto mf = meta->find("managedFields"); mf != meta->end()) given = &*mf;
  std::vector<Entry> entries = given && classify(*given) != Given::Keep ? read_entries(updated) : read_entries(old);
  const std::string type = type_of(updated, api_version);
  if (entries.empty() && old.is_null()) {
    // A create's only entry lists every field of the object: its trie is built directly (creates are hot).
    json fields = json::object();
    if (updated.is_object()) collect_created(updated, type, Level::Root, fields);
    if (!updated["metadata"].is_object()) updated["metadata"] = json::object();
    if (fields.empty())
      updated["metadata"].erase("managedFields");
    else
      updated["metadata"]["managedFields"] =
          json::array({encode_entry(Entry{manager, "Update", api_version, now_rfc3339, subresource, {}}, std::move(fields))});
    return;
  }
  const FieldSet changed = field_set(updated, type, old.is_null() ? nullptr : &old, true);
  take_ownership(entries, changed, manager, api_version, now_rfc3339, subresource);
  write_entries(updated, type, std::move(entries));
}

void update_status_managed_fields(json& object, const json* old_status, const std::string& manager,
                                  const std::string& api_version, const std::string& now_rfc3339) {
  if (!object.is_object()) return;
  if (!object["metadata"].is_object()) object["metadata"] = json::object();
  json& meta = object["metadata"];
  json others = json::array();
  std::vector<Entry> entries;  // the status subresource's
  if (auto mf = meta.find("managedFields"); mf != meta.end() && mf->is_array())
    for (json& e : *mf) {
      if (e.is_object() && string_or(e, "subresource") == "status") entries.push_back(read_entry(e));
      else others.push_back(std::move(e));
    }
  // Only .status changed: the walks cover it alone, moved out of the object meanwhile.
  const std::string type = type_of(object, api_version);
  json after = json::object(), before = json::object();
  auto status = object.find("status");
  if (status != object.end()) after["status"] = std::move(*status);
  if (old_status) before["status"] = *old_status;
  take_ownership(entries, field_set(after, type, &before, true), manager, api_version, now_rfc3339, "status");
  const PathIndex status_nodes = index_paths(after, type);
  std::optional<PathIndex> other_nodes;  // the rest of the object, indexed only if an entry names a field there
  for (Entry& e : entries)
    for (auto it = e.fields.begin(); it != e.fields.end();) {
      bool exists = false;
      if (it->empty()) {
        // the object itself is not a field
      } else if (it->front() == "f:status") {
        exists = status_nodes.count(*it) > 0;
      } else {
        if (!other_nodes) other_nodes = index_paths(object, type);
        exists = other_nodes->count(*it) > 0;
      }
      it = exists ? std::next(it) : e.fields.erase(it);
    }
  if (status != object.end()) *status = std::move(after["status"]);
  for (json& e : encode_entries(std::move(entries))) others.push_back(std::move(e));
  meta["managedFields"] = std::move(others);
}

json managed_fields_to_store(json given) {
  switch (classify(given)) {
    case Given::Keep: return nullptr;
    case Given::Reset: return json::array();
    case Given::Replace: break;
  }
  std::vector<std::pair<Entry, json>> entries;
  for (json& e : given) {
    json fields = e.contains("fieldsV1") ? std::move(e["fieldsV1"]) : json::object();
    if (fields.empty()) continue;  // owners of nothing are dropped
    normalize_fields_v1(fields);
    entries.emplace_back(Entry{string_or(e, "manager"), string_or(e, "operation"), string_or(e, "apiVersion"),
                               string_or(e, "time"), string_or(e, "subresource"), {}},
                         std::move(fields));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return entry_before(a.first, b.first); });
  json list = json::array();
  for (auto& [entry, fields] : entries) list.push_back(encode_entry(entry, std::move(fields)));
  return list;
}

}  // namespace kubelite
