// JSON merge patch (RFC 7386), JSON patch (RFC 6902, with the error mapping of kube-apiserver's patch handler)
// and strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch) for the built-in kinds.
#include "kubelite/semantics/patch.h"

#include <algorithm>

#include "kubelite/semantics/patch_schema.h"

namespace kubelite {

// ---------------------------------------------------------------------------------------------------------
// RFC 7386

namespace {

// In place: copying each level of the target (the old way) cost a deep copy per nesting level of the patch.
void merge_patch_into(json& target, const json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) target.erase(it.key());
    else merge_patch_into(target[it.key()], *it);
  }
}

}  // namespace

json apply_merge_patch(json target, const json& patch) {
  merge_patch_into(target, patch);
  return target;
}

// ---------------------------------------------------------------------------------------------------------
// RFC 6902

namespace {

// kube-apiserver answers a JSON patch that cannot be applied with NewGenericServerResponse(422), whose message
// does not carry the underlying error; malformed patches are a BadRequest with the decoder's message.
[[noreturn]] void patch_does_not_apply() {
  throw ApiError(422, "Invalid", "the server rejected our request due to an error in our request");
}
[[noreturn]] void malformed(const std::string& message) { throw ApiError(400, "BadRequest", message); }

std::vector<std::string> split_pointer(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') patch_does_not_apply();
  size_t start = 1;
  for (;;) {
    size_t slash = pointer.find('/', start);
    std::string raw = pointer.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += raw[i];
      }
    }
    tokens.push_back(token);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return tokens;
}

// An array index token: decimal digits without leading zeros (RFC 6901), or "-" when `allow_end`.
bool array_index(const std::string& token, size_t size, bool allow_end, size_t& index) {
  if (allow_end && token == "-") {
    index = size;
    return true;
  }
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) return false;
  if (!std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  index = std::stoul(token);
  return allow_end ? index <= size : index < size;
}

json* resolve(json& doc, const std::vector<std::string>& tokens, size_t count) {
  json* node = &doc;
  for (size_t i = 0; i < count; ++i) {
    if (node->is_object()) {
      auto it = node->find(tokens[i]);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      size_t index;
      if (!array_index(tokens[i], node->size(), false, index)) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

void add_at(json& doc, const std::vector<std::string>& tokens, json value) {
  if (tokens.empty()) {
    doc = std::move(value);
    return;
  }
  json* parent = resolve(doc, tokens, tokens.size() - 1);
  if (!parent) patch_does_not_apply();
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    (*parent)[last] = std::move(value);
  } else if (parent->is_array()) {
    size_t index;
    if (!array_index(last, parent->size(), true, index)) patch_does_not_apply();
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(index), std::move(value));
  } else {
    patch_does_not_apply();
  }
}

json remove_at(json& doc, const std::vector<std::string>& tokens) {
  if (tokens.empty()) patch_does_not_apply();
  json* parent = resolve(doc, tokens, tokens.size() - 1);
  if (!parent) patch_does_not_apply();
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    auto it = parent->find(last);
    if (it == parent->end()) patch_does_not_apply();
    json removed = std::move(*it);
    parent->erase(it);
    return removed;
  }
  if (parent->is_array()) {
    size_t index;
    if (!array_index(last, parent->size(), false, index)) patch_does_not_apply();
    json removed = std::move((*parent)[index]);
    parent->erase(parent->begin() + static_cast<std::ptrdiff_t>(index));
    return removed;
  }
  patch_does_not_apply();
}

const std::string& string_member(const json& op, const char* name) {
  auto it = op.find(name);
  if (it == op.end() || !it->is_string()) malformed(std::string("json patch operation is missing \"") + name + "\"");
  return it->get_ref<const std::string&>();
}

const json& value_member(const json& op) {
  auto it = op.find("value");
  if (it == op.end()) malformed("json patch operation is missing \"value\"");
  return *it;
}

}  // namespace

json apply_json_patch(const json& target, const json& patch) {
  if (!patch.is_array()) {
    malformed(std::string("json: cannot unmarshal ") + (patch.is_object() ? "object" : patch.type_name()) +
              " into Go value of type jsonpatch.Patch");
  }
  for (const json& op : patch)
    if (!op.is_object()) malformed("json: cannot unmarshal " + std::string(op.type_name()) +
                                   " into Go value of type jsonpatch.Operation");
  json doc = target;
  for (const json& op : patch) {
    const std::string& kind = string_member(op, "op");
    const auto path = split_pointer(string_member(op, "path"));
    if (kind == "add") {
      add_at(doc, path, value_member(op));
    } else if (kind == "remove") {
      remove_at(doc, path);
    } else if (kind == "replace") {
      json* node = resolve(doc, path, path.size());
      if (!node) patch_does_not_apply();
      *node = value_member(op);
    } else if (kind == "move") {
      const auto from = split_pointer(string_member(op, "from"));
      add_at(doc, path, remove_at(doc, from));
    } else if (kind == "copy") {
      const auto from = split_pointer(string_member(op, "from"));
      json* node = resolve(doc, from, from.size());
      if (!node) patch_does_not_apply();
      add_at(doc, path, json(*node));
    } else if (kind == "test") {
      json* node = resolve(doc, path, path.size());
      const json& expected = value_member(op);
      // evanphx/json-patch treats a missing path as equal to a null value.
      if (node ? *node != expected : !expected.is_null()) patch_does_not_apply();
    } else {
      patch_does_not_apply();  // "Unexpected kind: <op>"
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------------------
// Strategic merge patch

bool supports_strategic_merge(const std::string& group, const std::string& kind) {
  return schema::is_builtin_group(group);
}

namespace {

constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";

[[noreturn]] void bad_smp(const std::string& message) { throw ApiError(400, "BadRequest", message); }

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool is_directive_key(const std::string& key) { return !key.empty() && key[0] == '$'; }

// The result of merging a map: the merged value, or "delete this map" ($patch: delete).
struct Merged {
  json value;
  bool deleted = false;
};

Merged merge_map(const json& original, const json& patch, const std::string& type);

json merge_value(const json* original, const json& patch, const schema::Field* field) {
  // Strategic merge patch follows only the Go patch tags: structs that server-side apply treats as atomic
  // (a Deployment's selector) still merge key by key here.
  const std::string type = field ? field->type : "";
  if (patch.is_object()) {
    Merged m = merge_map(original && original->is_object() ? *original : json::object(), patch, type);
    return m.deleted ? json() : m.value;  // null: the caller removes the key
  }
  return patch;
}

std::string key_text(const json& item, const std::string& key) {
  auto it = item.find(key);
  return it == item.end() ? std::string() : it->dump();
}

// The $patch directive of a list item ("" when absent or not a string).
std::string item_directive(const json& item) {
  auto it = item.is_object() ? item.find("$patch") : item.end();
  return it != item.end() && it->is_string() ? it->get<std::string>() : "";
}

json merge_keyed_list(const json& original, const json& patch, const schema::Field& field) {
  const std::string& key = field.merge_key;
  // {"$patch": "replace"} anywhere in the patch list: the list becomes the patch's other items.
  for (const json& item : patch) {
    if (item_directive(item) == "replace") {
      json replaced = json::array();
      for (const json& other : patch)
        if (&other != &item) replaced.push_back(merge_value(nullptr, other, &field));
      return replaced;
    }
  }
  json result = original.is_array() ? original : json::array();
  for (const json& item : patch) {
    if (!item.is_object()) bad_smp("unable to find api field in struct for the patch element: " + item.dump());
    if (!item.contains(key))
      bad_smp("map: " + item.dump() + " does not contain declared merge key: " + key);
    const std::string wanted = item[key].dump();
    auto found = std::find_if(result.begin(), result.end(),
                              [&](const json& e) { return e.is_object() && key_text(e, key) == wanted; });
    const std::string directive = item_directive(item);
    if (directive == "delete") {
      result.erase(std::remove_if(result.begin(), result.end(),
                                  [&](const json& e) { return e.is_object() && key_text(e, key) == wanted; }),
                   result.end());
      continue;
    }
    Merged m = merge_map(found != result.end() ? *found : json::object(), item, field.type);
    if (found != result.end())
      *found = m.value;
    else
      result.push_back(m.value);
  }
  return result;
}

json merge_set_list(const json& original, const json& patch) {
  json result = original.is_array() ? original : json::array();
  for (const json& item : patch)
    if (std::find(result.begin(), result.end(), item) == result.end()) result.push_back(item);
  return result;
}

// Position of `item` in `list`, by merge key for keyed lists, by value for primitive lists; -1 if absent.
long index_of(const json& list, const json& item, const std::string& key) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (key.empty() ? list[i] == item : (list[i].is_object() && item.is_object() && key_text(list[i], key) == key_text(item, key)))
      return static_cast<long>(i);
  }
  return -1;
}

// strategicpatch.normalizeElementOrder + mergeSortedSlice: items named by $setElementOrder take that order,
// items only on the server keep theirs and are interleaved by their position in the live list.
json apply_element_order(const json& merged, const json& order, const json& original, const std::string& key) {
  json from_patch = json::array(), server_only = json::array();
  for (const json& item : merged) (index_of(order, item, key) >= 0 ? from_patch : server_only).push_back(item);
  std::vector<json> sorted(from_patch.begin(), from_patch.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const json& a, const json& b) { return index_of(order, a, key) < index_of(order, b, key); });
  json result = json::array();
  size_t i = 0, j = 0;
  while (i < server_only.size() || j < sorted.size()) {
    if (j >= sorted.size()) {
      result.push_back(server_only[i++]);
    } else if (i >= server_only.size()) {
      result.push_back(sorted[j++]);
    } else {
      long li = index_of(original, server_only[i], key), ri = index_of(original, sorted[j], key);
      if (li >= 0 && ri >= 0 && li < ri)
        result.push_back(server_only[i++]);
      else
        result.push_back(sorted[j++]);
    }
  }
  return result;
}

Merged merge_map(const json& original, const json& patch, const std::string& type) {
  if (auto directive = patch.find("$patch"); directive != patch.end()) {
    const std::string d = directive->is_string() ? directive->get<std::string>() : directive->dump();
    if (d == "delete") return {json(), true};
    if (d == "replace") {
      json replaced = json::object();
      for (auto it = patch.begin(); it != patch.end(); ++it)
        if (!is_directive_key(it.key()) && !it->is_null())
          replaced[it.key()] = merge_value(nullptr, *it, schema::field(type, it.key()));
      return {replaced, false};
    }
    if (d != "merge") bad_smp("Unknown patch type: " + d + " in map: " + patch.dump());
  }
  json result = original.is_object() ? original : json::object();

  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (!starts_with(it.key(), kDeleteFromPrimitiveList)) continue;
    const std::string name = it.key().substr(kDeleteFromPrimitiveList.size());
    if (!it->is_array()) bad_smp("invalid patch: " + it.key() + " must be a list");
    auto list = result.find(name);
    if (list == result.end() || !list->is_array()) continue;
    json kept = json::array();
    for (const json& v : *list)
      if (std::find(it->begin(), it->end(), v) == it->end()) kept.push_back(v);
    *list = kept;
  }

  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& name = it.key();
    if (is_directive_key(name)) continue;
    if (it->is_null()) {
      result.erase(name);
      continue;
    }
    const schema::Field* field = schema::field(type, name);
    auto existing = result.find(name);
    const json* current = existing == result.end() ? nullptr : &*existing;
    if (it->is_array() && field && field->list == schema::ListType::Map) {
      result[name] = merge_keyed_list(current ? *current : json::array(), *it, *field);
    } else if (it->is_array() && field && field->list == schema::ListType::Set) {
      result[name] = merge_set_list(current ? *current : json::array(), *it);
    } else {
      json merged = merge_value(current, *it, field);
      if (merged.is_null())
        result.erase(name);
      else
        result[name] = std::move(merged);
    }
  }

  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (!starts_with(it.key(), kSetElementOrder)) continue;
    const std::string name = it.key().substr(kSetElementOrder.size());
    if (!it->is_array()) bad_smp("invalid patch: " + it.key() + " must be a list");
    auto list = result.find(name);
    if (list == result.end() || !list->is_array()) continue;
    const schema::Field* field = schema::field(type, name);
    const std::string key = field && field->list == schema::ListType::Map ? field->merge_key : "";
    auto orig = original.is_object() ? original.find(name) : original.end();
    const json original_list = original.is_object() && orig != original.end() ? *orig : json::array();
    *list = apply_element_order(*list, *it, original_list, key);
  }

  if (auto retain = patch.find("$retainKeys"); retain != patch.end()) {
    if (!retain->is_array()) bad_smp("invalid patch: $retainKeys must be a list of strings");
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (is_directive_key(it.key()) || it->is_null()) continue;
      if (std::find(retain->begin(), retain->end(), it.key()) == retain->end())
        throw ApiError(422, "Invalid", "The request is invalid: patch content doesn't match retainKeys list");
    }
    json kept = json::object();
    for (auto it = result.begin(); it != result.end(); ++it)
      if (std::find(retain->begin(), retain->end(), it.key()) != retain->end()) kept[it.key()] = *it;
    result = kept;
  }
  return {result, false};
}

}  // namespace

json apply_strategic_merge_patch(const json& target, const json& patch, const std::string& group,
                                 const std::string& kind) {
  if (!supports_strategic_merge(group, kind))
    throw ApiError(415, "UnsupportedMediaType",
                   "the body of the request was in an unknown format - accepted media types include: "
                   "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
  if (!patch.is_object()) bad_smp("couldn't get version/kind; json parse error: cannot unmarshal " +
                                  std::string(patch.type_name()) + " into Go value of type struct");
  Merged m = merge_map(target, patch, schema::root_type(group, kind));
  return m.deleted ? json::object() : m.value;
}

}  // namespace kubelite
