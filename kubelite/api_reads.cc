// GET of one object, LIST with selectors/paging/tables, and WATCH.
#include <optional>

#include "kubelite/api_impl.h"
#include "kubelite/semantics/selector.h"
#include "kubelite/tables.h"

namespace kubelite {

namespace {


// The selectors of a list or watch, parsed once; objects are parsed only when a selector needs them.
struct Filter {
  std::optional<LabelSelector> labels;
  std::optional<FieldSelector> fields;
  std::string name_only;  // fast path: the selector is exactly metadata.name=<n>

  bool empty() const { return !labels && !fields && name_only.empty(); }

  bool matches(const std::string& key, const std::string& object_json) const {
    if (!name_only.empty()) {
      size_t slash = key.find('/');
      if ((slash == std::string::npos ? key : key.substr(slash + 1)) != name_only) return false;
      if (!labels) return true;
    }
    if (!labels && !fields) return true;
    return matches(json::parse(object_json));
  }
  bool matches(const json& object) const {
    if (labels && !labels->matches(object["metadata"].value("labels", json()))) return false;
    if (fields && !fields->matches(object)) return false;
    return true;
  }
};

Filter make_filter(const ResourceInfo& r, const ApiRequest& req) {
  Filter f;
  std::string labels = query(req, "labelSelector");
  std::string fields = query(req, "fieldSelector");
  if (!labels.empty()) {
    LabelSelector parsed = parse_label_selector(labels);
    if (!parsed.requirements.empty()) f.labels = std::move(parsed);
  }
  if (!fields.empty()) {
    FieldSelector parsed = parse_field_selector(fields, field_selectors_of(r));
    if (parsed.requirements.size() == 1 && parsed.requirements[0].field == "metadata.name" &&
        parsed.requirements[0].equals) {
      f.name_only = parsed.requirements[0].value;
    } else if (!parsed.requirements.empty()) {
      f.fields = std::move(parsed);
    }
  }
  return f;
}

// Iterates the objects of a collection in key order, restricted to one namespace when given.
template <typename Fn>
void for_each_in_scope(const Collection& c, const std::string& ns, const std::string& after_key, Fn fn) {
  std::string prefix = ns.empty() ? "" : ns + "/";
  auto it = after_key.empty() ? (prefix.empty() ? c.begin() : c.lower_bound(prefix)) : c.upper_bound(after_key);
  for (; it != c.end(); ++it) {
    if (!prefix.empty() && it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (!fn(it->second)) break;
  }
}

std::string encode_continue(uint64_t rv, const std::string& start_key) {
  // The real server's token: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}.
  // Like the real server, URL-safe base64 without padding, so the token survives in a query string.
  json token = {{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", start_key + std::string(1, '\0')}};
  std::string text = base64_encode(token.dump());
  for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

bool decode_continue(const std::string& text, uint64_t& rv, std::string& start_key) {
  std::string standard = text, raw;
  for (char& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (standard.size() % 4) standard += '=';
  if (!base64_decode(standard, raw)) return false;
  try {
    json token = json::parse(raw);
    if (token.value("v", "") != "meta.k8s.io/v1" || !token["rv"].is_number_unsigned()) return false;
    rv = token["rv"].get<uint64_t>();
    start_key = token.value("start", "");
    if (!start_key.empty() && start_key.back() == '\0') start_key.pop_back();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

std::vector<std::string> field_selectors_of(const ResourceInfo& r) {
  if (!r.custom) return supported_field_selectors(r.group, r.resource);
  std::vector<std::string> out = {"metadata.name", "metadata.namespace"};
  for (const auto& f : r.crd_version.value("selectableFields", json::array())) {
    std::string path = f.value("jsonPath", "");
    out.push_back(path.starts_with(".") ? path.substr(1) : path);
  }
  return out;
}

json Api::Impl::read(const ResourceInfo& r, const std::string& key) const {
  ObjectPtr o = store.get(r.storage_id(), key);
  return o ? json::parse(o->json) : json();
}

ApiResponse Api::Impl::get(const Target& t, const ApiRequest& req) {
  ObjectPtr o;
  {
    std::shared_lock lock(store.mutex());
    o = store.get(t.r->storage_id(), t.key());
  }
  if (!o) throw not_found(*t.r, t.name);
  ApiResponse res;
  if (t.sub == "log") {
    if (pod_streams) return pod_streams->log(json::parse(o->json), req);
    res.content_type = "text/plain";  // no data plane: nothing ever ran
    return res;
  }
  if (t.sub == "exec" && pod_streams) pod_streams->exec(json::parse(o->json), req, "");  // its errors come first
  if (t.sub == "exec" || t.sub == "attach" || t.sub == "portforward") throw bad_request("Upgrade request required");
  if (t.sub == "proxy")
    throw ApiError(503, "ServiceUnavailable", "no endpoints available for " + t.r->resource + " \"" + t.name + "\"");
  if (t.sub == "scale") {
    json object = json::parse(o->json);
    json scale = {{"kind", "Scale"},
                  {"apiVersion", "autoscaling/v1"},
                  {"metadata",
                   {{"name", t.name},
                    {"namespace", t.ns},
                    {"uid", object["metadata"]["uid"]},
                    {"resourceVersion", object["metadata"]["resourceVersion"]},
                    {"creationTimestamp", object["metadata"]["creationTimestamp"]}}},
                  {"spec", {{"replicas", object["spec"].value("replicas", 0)}}},
                  {"status", {{"replicas", object.value("status", json::object()).value("replicas", 0)}}}};
    res.body = scale.dump();
    return res;
  }
  if (wants_table(req.accept) && t.sub.empty()) {
    json object = json::parse(o->json);
    json table = {{"kind", "Table"},
                  {"apiVersion", "meta.k8s.io/v1"},
                  {"metadata", {{"resourceVersion", object["metadata"].value("resourceVersion", "")}}},
                  {"columnDefinitions", table_columns(*t.r)},
                  {"rows", json::array({table_row(*t.r, object)})}};
    res.body = table.dump();
    return res;
  }
  res.body = serialize_with_kind(*t.r, o->json);
  return res;
}

ApiResponse Api::Impl::list(const Target& t, const ApiRequest& req) {
  const ResourceInfo& r = *t.r;
  Filter filter = make_filter(r, req);
  std::string limit_text = query(req, "limit");
  size_t limit = 0;
  if (!limit_text.empty()) {
    try {
      long long n = std::stoll(limit_text);
      limit = n > 0 ? static_cast<size_t>(n) : 0;
    } catch (...) {
      throw bad_request("invalid limit: " + limit_text);
    }
  }
  std::string scope = r.storage_id() + "|" + t.ns + "|" + query(req, "labelSelector") + "|" + query(req, "fieldSelector");
  std::string continue_token = query(req, "continue");
  std::vector<ObjectPtr> page;
  uint64_t list_rv = 0;
  size_t remaining = 0;
  std::string next_start;

  if (!continue_token.empty()) {
    uint64_t token_rv;
    std::string start;
    if (!decode_continue(continue_token, token_rv, start))
      throw bad_request("continue key is not valid: illegal base64 data or invalid JSON in continue token");
    std::lock_guard lock(snapshots_mu);
    auto snap = std::find_if(snapshots.begin(), snapshots.end(),
                             [&](const ListSnapshot& s) { return s.rv == token_rv && s.scope == scope; });
    if (snap == snapshots.end())
      throw ApiError(410, "Expired",
                     "The provided continue parameter is too old to display a consistent list result. You can start a "
                     "new list without the continue parameter, or use the continue token in this response to retrieve "
                     "the remainder of the results. Continuing with the provided token results in an inconsistent list "
                     "- objects that were created, modified, or deleted between the time the first chunk was returned "
                     "and now may show up in the list.");
    list_rv = snap->rv;
    auto it = std::upper_bound(snap->items.begin(), snap->items.end(), start,
                               [](const std::string& k, const ObjectPtr& o) { return k < o->key; });
    for (; it != snap->items.end(); ++it) {
      if (limit && page.size() == limit) {
        next_start = page.back()->key;
        remaining = static_cast<size_t>(snap->items.end() - it);
        break;
      }
      page.push_back(*it);
    }
  } else {
    std::string rv_text = query(req, "resourceVersion");
    std::string match = query(req, "resourceVersionMatch");
    std::vector<ObjectPtr> matched;
    {
      std::shared_lock lock(store.mutex());
      list_rv = store.current_rv();
      if (!rv_text.empty() && rv_text != "0") {
        uint64_t wanted = 0;
        try {
          wanted = std::stoull(rv_text);
        } catch (...) {
          throw bad_request("invalid resource version: " + rv_text);
        }
        if (wanted > list_rv)
          throw ApiError(504, "Timeout", "Timeout: Too large resource version: " + rv_text + ", current: " +
                                             std::to_string(list_rv),
                         {{"causes", json::array({{{"reason", "ResourceVersionTooLarge"}, {"message", "Too large resource version"}}})},
                          {"retryAfterSeconds", 1}});
        if (match == "Exact" && wanted != list_rv)
          throw ApiError(410, "Expired", "too old resource version: " + rv_text + " (" + std::to_string(list_rv) + ")");
      }
      const Collection& c = store.collection(r.storage_id());
      for_each_in_scope(c, t.ns, "", [&](const ObjectPtr& o) {
        if (filter.empty() || filter.matches(o->key, o->json)) matched.push_back(o);
        return true;
      });
    }
    if (limit && matched.size() > limit) {
      next_start = matched[limit - 1]->key;
      remaining = matched.size() - limit;
      page.assign(matched.begin(), matched.begin() + static_cast<long>(limit));
      std::lock_guard lock(snapshots_mu);
      snapshots.push_front({scope, list_rv, std::move(matched), std::chrono::steady_clock::now()});
      // A handful of concurrent paged lists is what clients do; older snapshots expire (410).
      while (snapshots.size() > 32) snapshots.pop_back();
      auto horizon = std::chrono::steady_clock::now() - std::chrono::minutes(5);
      while (!snapshots.empty() && snapshots.back().created < horizon) snapshots.pop_back();
    } else {
      page = std::move(matched);
    }
  }

  json meta = {{"resourceVersion", std::to_string(list_rv)}};
  if (!next_start.empty()) {
    meta["continue"] = encode_continue(list_rv, next_start);
    if (filter.empty()) meta["remainingItemCount"] = remaining;
  }
  ApiResponse res;
  if (wants_table(req.accept)) {
    json rows = json::array();
    for (const auto& o : page) rows.push_back(table_row(r, json::parse(o->json)));
    json table = {{"kind", "Table"},
                  {"apiVersion", "meta.k8s.io/v1"},
                  {"metadata", meta},
                  {"columnDefinitions", table_columns(r)},
                  {"rows", rows}};
    res.body = table.dump();
    return res;
  }
  // The list is written from the stored JSON texts without parsing or copying them: this is what makes
  // large LISTs stream at memory speed.
  auto body = std::make_shared<PiecewiseBody>();
  body->owned.reserve(3);
  body->owned.push_back("{\"kind\":\"" + r.kind + "List\",\"apiVersion\":\"" + r.api_version() +
                        "\",\"metadata\":" + meta.dump() + ",\"items\":[");
  // Built-in list items carry no apiVersion/kind; custom resources' items do (k8s.io/apiserver's handlers).
  body->owned.push_back("{\"apiVersion\":\"" + r.api_version() + "\",\"kind\":\"" + r.kind + "\",");
  body->owned.push_back("]}");
  body->add(body->owned[0]);
  bool first = true;
  for (const auto& o : page) {
    if (!first) body->add(",");
    first = false;
    std::string_view text = o->json;
    if (r.custom && text.size() > 2) {
      body->add(body->owned[1]);
      body->add(text.substr(1));
    } else {
      body->add(text);
    }
  }
  body->add(body->owned[2]);
  body->hold = std::move(page);
  res.pieces = std::move(body);
  return res;
}

namespace {

class Watch : public WatchStream {
 public:
  Watch(Api::Impl& impl, Target t, Filter filter, bool bookmarks, bool table,
        std::chrono::steady_clock::time_point deadline)
      : impl_(impl), t_(std::move(t)), filter_(std::move(filter)), bookmarks_(bookmarks), table_(table),
        deadline_(deadline), last_output_(std::chrono::steady_clock::now()) {}

  // Initial state: `pending_` holds synthetic ADDED events; changes are read after `rv`.
  void start(uint64_t rv, std::string pending, bool expired) {
    last_rv_ = rv;
    pending_ = std::move(pending);
    expired_ = expired;
  }

  bool next(std::string& out, std::chrono::milliseconds wait) override {
    if (!pending_.empty()) {
      out += pending_;
      pending_.clear();
      last_output_ = std::chrono::steady_clock::now();
      return true;
    }
    if (finished_) return false;
    if (expired_) {
      out += error_event(410, "Expired", "too old resource version: " + std::to_string(requested_rv_) + " (" +
                                             std::to_string(impl_.store.oldest_watchable_rv() + 1) + ")");
      finished_ = true;
      return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline_) return false;
    auto until = std::min(now + wait, deadline_);
    const std::string& id = t_.r->storage_id();
    std::condition_variable_any& changed = impl_.store.changed(id);
    std::deque<Event> events;
    bool too_old = false;
    {
      std::shared_lock lock(impl_.store.mutex());
      changed.wait_until(lock, until, [&] {
        return impl_.store.last_write_rv(id) > last_rv_ || impl_.stopping.load();
      });
      if (impl_.stopping) return false;
      if (impl_.store.last_write_rv(id) <= last_rv_)
        // Nothing of this resource since: the other resources' changes need not be read (nor can they expire
        // this watch), as in the real server's per-resource watch cache.
        last_rv_ = std::max(last_rv_, impl_.store.current_rv());
      else
        too_old = !impl_.store.history_since(last_rv_, events);
    }
    if (too_old) {
      out += error_event(410, "Expired", "too old resource version: " + std::to_string(last_rv_));
      finished_ = true;
      return true;
    }
    std::string prefix = t_.ns.empty() ? "" : t_.ns + "/";
    for (const Event& e : events) {
      last_rv_ = e.rv;
      if (e.storage_id != id) continue;
      if (!prefix.empty() && e.object->key.compare(0, prefix.size(), prefix) != 0) continue;
      bool now_matches = e.type != EventType::Deleted && filter_.matches(e.object->key, e.object->json);
      bool was_matching = e.previous && filter_.matches(e.previous->key, e.previous->json);
      if (e.type == EventType::Deleted) now_matches = false;
      const char* type = nullptr;
      if (e.type == EventType::Deleted) type = was_matching ? "DELETED" : nullptr;
      else if (now_matches && was_matching) type = "MODIFIED";
      else if (now_matches) type = "ADDED";
      else if (was_matching) type = "DELETED";  // stopped matching the selector
      if (!type) continue;
      out += event_line(type, *e.object);
    }
    if (!out.empty()) {
      last_output_ = std::chrono::steady_clock::now();
    } else if (bookmarks_ && std::chrono::steady_clock::now() - last_output_ >= std::chrono::seconds(1)) {
      json bookmark = {{"type", "BOOKMARK"},
                       {"object",
                        {{"kind", t_.r->kind},
                         {"apiVersion", t_.r->api_version()},
                         {"metadata", {{"resourceVersion", std::to_string(last_rv_)}}}}}};
      out += bookmark.dump() + "\n";
      last_output_ = std::chrono::steady_clock::now();
    }
    return true;
  }

  std::string event_line(const char* type, const StoredObject& o) const {
    if (table_) {
      json object = json::parse(o.json);
      json table = {{"kind", "Table"},
                    {"apiVersion", "meta.k8s.io/v1"},
                    {"metadata", {{"resourceVersion", std::to_string(o.rv)}}},
                    {"columnDefinitions", table_columns(*t_.r)},
                    {"rows", json::array({table_row(*t_.r, object)})}};
      return "{\"type\":\"" + std::string(type) + "\",\"object\":" + table.dump() + "}\n";
    }
    return "{\"type\":\"" + std::string(type) + "\",\"object\":" + serialize_with_kind(*t_.r, o.json) + "}\n";
  }

  static std::string error_event(int code, const std::string& reason, const std::string& message) {
    json e = {{"type", "ERROR"}, {"object", status_of(ApiError(code, reason, message))}};
    return e.dump() + "\n";
  }

  void set_requested_rv(uint64_t rv) { requested_rv_ = rv; }

 private:
  Api::Impl& impl_;
  Target t_;
  Filter filter_;
  bool bookmarks_, table_;
  std::chrono::steady_clock::time_point deadline_, last_output_;
  uint64_t last_rv_ = 0, requested_rv_ = 0;
  std::string pending_;
  bool expired_ = false, finished_ = false;
};

}  // namespace

ApiResponse Api::Impl::watch(const Target& t, const ApiRequest& req) {
  Filter filter = make_filter(*t.r, req);
  std::string rv_text = query(req, "resourceVersion");
  std::string timeout_text = query(req, "timeoutSeconds");
  long long timeout = 1800;
  if (!timeout_text.empty()) {
    try {
      timeout = std::stoll(timeout_text);
    } catch (...) {
      throw bad_request("invalid timeoutSeconds: " + timeout_text);
    }
  }
  bool bookmarks = query(req, "allowWatchBookmarks") == "true";
  bool send_initial = query(req, "sendInitialEvents") == "true";
  bool table = wants_table(req.accept);
  auto w = std::make_unique<Watch>(*this, t, filter, bookmarks, table,
                                   std::chrono::steady_clock::now() + std::chrono::seconds(timeout));
  std::string initial;
  uint64_t start_rv;
  bool expired = false;
  {
    std::shared_lock lock(store.mutex());
    if (rv_text.empty() || rv_text == "0" || send_initial) {
      // Synthetic ADDED events for the current state, then the changes after it.
      start_rv = store.current_rv();
      for_each_in_scope(store.collection(t.r->storage_id()), t.ns, "", [&](const ObjectPtr& o) {
        if (filter.matches(o->key, o->json)) initial += w->event_line("ADDED", *o);
        return true;
      });
      if (send_initial && bookmarks) {
        json bookmark = {{"type", "BOOKMARK"},
                         {"object",
                          {{"kind", t.r->kind},
                           {"apiVersion", t.r->api_version()},
                           {"metadata",
                            {{"resourceVersion", std::to_string(start_rv)},
                             {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}}}};
        initial += bookmark.dump() + "\n";
      }
    } else {
      try {
        start_rv = std::stoull(rv_text);
      } catch (...) {
        throw bad_request("invalid resource version: " + rv_text);
      }
      expired = start_rv < store.oldest_watchable_rv();
      w->set_requested_rv(start_rv);
    }
  }
  w->start(start_rv, std::move(initial), expired);
  ApiResponse res;
  res.watch = std::move(w);
  return res;
}

}  // namespace kubelite
