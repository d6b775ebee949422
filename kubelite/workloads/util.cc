#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>

#include "kubelite/objects.h"
#include "kubelite/workloads/internal.h"

namespace kubelite::workloads {

namespace {
const char kSafe[] = "bcdfghjklmnpqrstvwxz2456789";  // k8s.io/apimachinery/pkg/util/rand's alphanums
}

std::string random_suffix(size_t n) {
  static thread_local std::mt19937 rng(std::random_device{}());
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kSafe[rng() % (sizeof kSafe - 1)];
  return out;
}

std::string template_hash(const json& tmpl) {
  uint32_t h = 2166136261u;
  for (unsigned char c : tmpl.dump()) {
    h ^= c;
    h *= 16777619u;
  }
  std::string out;
  for (char c : std::to_string(h)) out += kSafe[static_cast<unsigned char>(c) % (sizeof kSafe - 1)];
  return out;
}

json controller_ref(const json& owner) {
  return {{"apiVersion", owner.value("apiVersion", "")}, {"kind", owner.value("kind", "")},
          {"name", owner["metadata"].value("name", "")}, {"uid", owner["metadata"].value("uid", "")},
          {"controller", true}, {"blockOwnerDeletion", true}};
}

std::string controller_uid(const json& object) {
  for (const auto& ref : object["metadata"].value("ownerReferences", json::array()))
    if (ref.value("controller", false)) return ref.value("uid", "");
  return "";
}

bool selector_matches(const json& selector, const json& labels) {
  if (!selector.is_object()) return false;
  auto label = [&](const std::string& k) -> const json* {
    if (!labels.is_object()) return nullptr;
    auto it = labels.find(k);
    return it == labels.end() ? nullptr : &*it;
  };
  // Named: items() refers to its object, which a temporary would not outlive (the loop read freed memory).
  const json match_labels = selector.value("matchLabels", json::object());
  for (const auto& [k, v] : match_labels.items()) {
    const json* l = label(k);
    if (!l || *l != v) return false;
  }
  for (const auto& e : selector.value("matchExpressions", json::array())) {
    const json* l = label(e.value("key", ""));
    std::string op = e.value("operator", "");
    bool in = false;
    for (const auto& v : e.value("values", json::array()))
      if (l && *l == v) in = true;
    if ((op == "In" && !in) || (op == "NotIn" && in) || (op == "Exists" && !l) || (op == "DoesNotExist" && l))
      return false;
  }
  return true;
}

bool is_terminating(const json& object) { return object["metadata"].contains("deletionTimestamp"); }

bool pod_active(const json& pod) {
  std::string phase = pod.value("status", json::object()).value("phase", "");
  return !is_terminating(pod) && phase != "Succeeded" && phase != "Failed";
}

bool pod_ready(const json& pod) {
  for (const auto& c : pod.value("status", json::object()).value("conditions", json::array()))
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

int int_or_percent(const json& value, int total, bool round_up, int fallback) {
  if (value.is_number_integer()) return value.get<int>();
  if (!value.is_string()) return fallback;
  std::string s = value.get<std::string>();
  if (s.empty()) return fallback;
  if (s.back() != '%') return std::atoi(s.c_str());
  double p = std::atof(s.c_str()) * total / 100.0;
  return round_up ? static_cast<int>(std::ceil(p - 1e-9)) : static_cast<int>(std::floor(p + 1e-9));
}

std::string key_of(const json& object) {
  const json& m = object["metadata"];
  std::string ns = m.value("namespace", "");
  return ns.empty() ? m.value("name", "") : ns + "/" + m.value("name", "");
}

void put_count(json& status, const char* name, int value) {
  if (value) status[name] = value;
  else status.erase(name);
}

void set_condition(json& conditions, json condition) {
  if (!conditions.is_array()) conditions = json::array();
  for (auto& c : conditions) {
    if (c.value("type", "") != condition.value("type", "")) continue;
    if (c.value("status", "") == condition.value("status", "") && c.contains("lastTransitionTime"))
      condition["lastTransitionTime"] = c["lastTransitionTime"];
    bool same = true;
    for (const auto& [k, v] : condition.items())
      if (k != "lastUpdateTime" && k != "lastProbeTime" && c.value(k, json()) != v) same = false;
    if (!same) c = std::move(condition);  // lastUpdateTime moves only with a real change
    return;
  }
  conditions.push_back(std::move(condition));
}

void record_event(Workloads::Impl& w, const json& object, const std::string& type, const std::string& reason,
                  const std::string& message, const std::string& component) {
  if (w.seeding) return;
  const json& m = object["metadata"];
  std::string ns = m.value("namespace", "default");
  std::string now = now_rfc3339();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(std::chrono::system_clock::now().time_since_epoch().count()));
  json event = {{"metadata", {{"name", m.value("name", "") + "." + hex}, {"namespace", ns}}},
                {"involvedObject",
                 {{"kind", object.value("kind", "")}, {"namespace", ns}, {"name", m.value("name", "")},
                  {"uid", m.value("uid", "")}, {"apiVersion", object.value("apiVersion", "")},
                  {"resourceVersion", m.value("resourceVersion", "")}}},
                {"reason", reason}, {"message", message}, {"source", {{"component", component}}},
                {"firstTimestamp", now}, {"lastTimestamp", now}, {"count", 1}, {"type", type},
                {"eventTime", nullptr}, {"reportingComponent", component}, {"reportingInstance", ""}};
  try {
    w.cluster->create("/events", ns, std::move(event));
  } catch (const std::exception&) {
    // Events are best effort, as in client-go's recorder (a namespace being deleted refuses them).
  }
}

}  // namespace kubelite::workloads
