#include "kubelite/storage/util.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>

namespace kubelite::storage {

std::string str(const json& obj, std::initializer_list<const char*> path) {
  const json* at = &obj;
  for (const char* step : path) {
    if (!at->is_object()) return "";
    auto it = at->find(step);
    if (it == at->end()) return "";
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : "";
}

std::string key_of(const json& object) {
  std::string ns = str(object, {"metadata", "namespace"});
  std::string name = str(object, {"metadata", "name"});
  return ns.empty() ? name : ns + "/" + name;
}

bool has_finalizer(const json& object, const std::string& f) {
  const json& meta = object.value("metadata", json::object());
  for (const auto& x : meta.value("finalizers", json::array()))
    if (x == f) return true;
  return false;
}

void add_finalizer(json& object, const std::string& f) {
  if (has_finalizer(object, f)) return;
  json& list = object["metadata"]["finalizers"];
  if (!list.is_array()) list = json::array();
  list.push_back(f);
}

void drop_finalizer(json& object, const std::string& f) {
  json kept = json::array();
  for (const auto& x : object["metadata"].value("finalizers", json::array()))
    if (x != f) kept.push_back(x);
  if (kept.empty()) object["metadata"].erase("finalizers");
  else object["metadata"]["finalizers"] = kept;
}

std::string go_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

uint64_t quantity_bytes(const std::string& q) {
  size_t i = 0;
  while (i < q.size() && (std::isdigit(static_cast<unsigned char>(q[i])) || q[i] == '.')) ++i;
  if (i == 0) return 0;
  double n = 0;
  try {
    n = std::stod(q.substr(0, i));
  } catch (const std::exception&) {
    return 0;
  }
  std::string unit = q.substr(i);
  static const std::map<std::string, double> units = {
      {"", 1},          {"k", 1e3},          {"M", 1e6},           {"G", 1e9},           {"T", 1e12},
      {"P", 1e15},      {"Ki", 1024.0},      {"Mi", 1048576.0},    {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}};
  auto u = units.find(unit);
  if (u == units.end()) return 0;
  return static_cast<uint64_t>(std::ceil(n * u->second));
}

std::string binary_quantity(uint64_t bytes) {
  static const char* suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes < 1024) return std::to_string(bytes);
  int k = 0;
  while (bytes % 1024 == 0 && k < 6) {
    bytes /= 1024;
    ++k;
  }
  return std::to_string(bytes) + suffixes[k];
}

std::string rfc3339_from_nanos(int64_t nanos) {
  std::time_t seconds = static_cast<std::time_t>(nanos / 1000000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

int64_t now_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kubelite::storage
