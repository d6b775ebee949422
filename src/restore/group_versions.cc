#include "restore/group_versions.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace arca::restore {
namespace {

struct KubeVersion {
  int type;  // 0 alpha, 1 beta, 2 GA: the first order key
  long major, minor;
};

std::optional<long> parse_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  long value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

// `v<major>[(alpha|beta)<minor>]`, as apimachinery's kubeVersionRegex.
std::optional<KubeVersion> parse_kube_version(std::string_view v) {
  if (v.size() < 2 || v[0] != 'v') return std::nullopt;
  v.remove_prefix(1);
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  auto major = parse_number(v.substr(0, digits));
  if (!major) return std::nullopt;
  std::string_view rest = v.substr(digits);
  if (rest.empty()) return KubeVersion{2, *major, 0};
  for (auto [word, type] : {std::pair<std::string_view, int>{"alpha", 0}, {"beta", 1}})
    if (rest.substr(0, word.size()) == word)
      if (auto minor = parse_number(rest.substr(word.size()))) return KubeVersion{type, *major, *minor};
  return std::nullopt;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

int compare_kube_versions(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  auto ka = parse_kube_version(a), kb = parse_kube_version(b);
  if (!ka && !kb) return a < b ? -1 : 1;
  if (!ka) return 1;
  if (!kb) return -1;
  auto key = [](const KubeVersion& k) { return std::make_tuple(k.type, k.major, k.minor); };
  return key(*ka) > key(*kb) ? -1 : key(*ka) < key(*kb) ? 1 : 0;
}

void sort_by_kube_priority(std::vector<std::string>& versions) {
  std::stable_sort(versions.begin(), versions.end(),
                   [](const std::string& a, const std::string& b) { return compare_kube_versions(a, b) < 0; });
}

VersionPriorities parse_version_priorities(std::string_view text, std::vector<std::string>& rejected) {
  VersionPriorities priorities;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view original = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    std::string line(original);
    std::erase(line, ' ');  // Velero removes spaces only
    if (line.empty()) continue;
    auto reject = [&](const char* why) {
      size_t first = original.find_first_not_of(' '), last = original.find_last_not_of(' ');
      rejected.push_back("ignoring version priority line \"" + std::string(original.substr(first, last - first + 1)) +
                         "\": " + why);
    };
    size_t equals = line.find('=');
    if (std::count(line.begin(), line.end(), '=') != 1) {
      reject("it must have exactly one '='");
      continue;
    }
    if (equals == 0 || equals + 1 == line.size()) {
      reject("it needs a resource.group before '=' and versions after it");
      continue;
    }
    std::vector<std::string> versions;
    std::string_view list = std::string_view(line).substr(equals + 1);
    while (!list.empty()) {
      size_t comma = list.find(',');
      if (comma != 0) versions.emplace_back(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    priorities[line.substr(0, equals)] = std::move(versions);
  }
  return priorities;
}

std::string_view to_string(VersionRule rule) {
  switch (rule) {
    case VersionRule::user_priority: return "user priority";
    case VersionRule::target_preferred: return "preferred by the cluster";
    case VersionRule::source_preferred: return "preferred by the backup's cluster";
    case VersionRule::common_non_preferred: return "common non-preferred version";
    case VersionRule::fallback: return "no common version, the backup's preferred";
    case VersionRule::group_not_served: return "group not served, the backup's preferred";
  }
  return "";
}

ChosenVersion choose_version(const std::string& resource_group, const SourceVersions& source,
                             const kube::ApiGroup* target, const VersionPriorities& user) {
  ChosenVersion chosen{source.preferred, true, VersionRule::fallback};
  auto pick = [&](const std::string& version, VersionRule rule) {
    return ChosenVersion{version, version == source.preferred, rule};
  };
  if (target == nullptr || target->versions.empty()) {
    chosen.rule = VersionRule::group_not_served;
    return chosen;
  }
  const std::string& target_preferred = target->versions.front();
  if (auto wanted = user.find(resource_group); wanted != user.end())
    for (const auto& version : wanted->second)
      if (contains(target->versions, version) && contains(source.versions, version))
        return pick(version, VersionRule::user_priority);
  if (contains(source.versions, target_preferred)) return pick(target_preferred, VersionRule::target_preferred);
  if (contains(target->versions, source.preferred)) return pick(source.preferred, VersionRule::source_preferred);
  // Velero skips the first entry of each kube-sorted list, which is the preferred version whenever the preferred
  // version is also the highest one; the spec's rule (neither side's preferred) is what is written here.
  std::vector<std::string> target_versions = target->versions;
  sort_by_kube_priority(target_versions);
  for (const auto& version : target_versions)
    if (version != target_preferred && version != source.preferred && contains(source.versions, version))
      return pick(version, VersionRule::common_non_preferred);
  return chosen;
}

}  // namespace arca::restore
