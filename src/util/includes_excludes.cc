#include "util/includes_excludes.h"

#include <algorithm>
#include <set>

#include "util/glob.h"

namespace arca {
namespace {

bool any_match(const std::vector<std::string>& patterns, std::string_view name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return glob_match(p, name); });
}

bool contains(const std::set<std::string>& s, const std::string& v) { return s.count(v) > 0; }

// Velero compares sets, so duplicates do not count and errors come out in sorted order.
void append_overlap_errors(const std::set<std::string>& includes, const std::set<std::string>& excludes,
                           std::vector<std::string>& errors) {
  for (const auto& item : excludes) {
    if (contains(includes, item)) errors.push_back("excludes list cannot contain an item in the includes list: " + item);
  }
}

constexpr const char* kIncludesStarOnly = "includes list must either contain '*' only, or a non-empty list of items";

// RFC 1123 label: lower-case alphanumerics and '-', starting and ending with an alphanumeric, at most 63.
std::string rfc1123_label_error(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = !s.empty() && s.size() <= 63 && alnum(s.front()) && alnum(s.back()) &&
            std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
  if (ok) return {};
  if (s.size() > 63) return "must be no more than 63 characters";
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
         "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc')";
}

std::vector<std::string> expand_patterns(const std::vector<std::string>& patterns,
                                         const std::vector<std::string>& existing) {
  std::vector<std::string> out;
  auto add = [&](const std::string& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& pattern : patterns) {
    if (!has_glob_chars(pattern)) {
      add(pattern);
      continue;
    }
    for (const auto& name : existing) {
      if (glob_match(pattern, name)) add(name);
    }
  }
  return out;
}

}  // namespace

std::optional<IncludesExcludes> expand_namespace_wildcards(const IncludesExcludes& lists,
                                                           const std::vector<std::string>& existing) {
  const auto& in = lists.includes;
  const auto& ex = lists.excludes;
  bool star = std::find(in.begin(), in.end(), "*") != in.end();
  auto globbed = [](const std::vector<std::string>& v) { return std::any_of(v.begin(), v.end(), has_glob_chars); };
  if (in.empty() || star || !(globbed(in) || globbed(ex))) return std::nullopt;
  return IncludesExcludes{expand_patterns(in, existing), expand_patterns(ex, existing)};
}

bool IncludesExcludes::excluded(std::string_view name) const { return any_match(excludes, name); }

bool IncludesExcludes::should_include(std::string_view name) const {
  if (excluded(name)) return false;
  return includes.empty() || std::find(includes.begin(), includes.end(), "*") != includes.end() ||
         any_match(includes, name);
}

bool IncludesExcludes::includes_everything() const {
  // As a set, the includes are {} or {"*"}: every entry is "*". Called per item, so no set is built.
  return excludes.empty() && std::all_of(includes.begin(), includes.end(), [](const std::string& s) { return s == "*"; });
}

std::vector<std::string> validate_includes_excludes(const std::vector<std::string>& includes_list,
                                                    const std::vector<std::string>& excludes_list) {
  std::set<std::string> includes(includes_list.begin(), includes_list.end());
  std::set<std::string> excludes(excludes_list.begin(), excludes_list.end());
  std::vector<std::string> errors;
  if (includes.size() > 1 && contains(includes, "*")) errors.push_back(kIncludesStarOnly);
  if (contains(excludes, "*")) errors.push_back("excludes list cannot contain '*'");
  append_overlap_errors(includes, excludes, errors);
  return errors;
}

std::vector<std::string> validate_scoped_includes_excludes(const std::vector<std::string>& includes_list,
                                                           const std::vector<std::string>& excludes_list) {
  std::set<std::string> includes(includes_list.begin(), includes_list.end());
  std::set<std::string> excludes(excludes_list.begin(), excludes_list.end());
  std::vector<std::string> errors;
  if (includes.size() > 1 && contains(includes, "*")) errors.push_back(kIncludesStarOnly);
  if (excludes.size() > 1 && contains(excludes, "*"))
    errors.push_back("excludes list must either contain '*' only, or a non-empty list of items");
  if (!includes.empty() && contains(excludes, "*")) errors.push_back("when exclude is '*', include cannot have value");
  append_overlap_errors(includes, excludes, errors);
  return errors;
}

std::string namespace_pattern_error(std::string_view ns) {
  // Velero treats "" as "no namespace" (cluster-scoped items) and "*" as everything.
  if (ns.empty() || ns == "*") return {};
  const std::string quoted = "invalid namespace \"" + std::string(ns) + "\": ";
  if (ns.find("**") != std::string_view::npos) return quoted + "wildcard pattern cannot contain consecutive '*'";
  for (char c : std::string_view("|()!{},")) {
    if (ns.find(c) != std::string_view::npos)
      return quoted + "wildcard pattern contains unsupported character '" + std::string(1, c) + "'";
  }
  // Brackets must pair up and never be empty; other glob characters become 'x' for the RFC 1123 check.
  std::string plain;
  int depth = 0;
  size_t open_at = 0;
  for (size_t i = 0; i < ns.size(); ++i) {
    char c = ns[i];
    if (c == '[') {
      if (depth++ > 0) return quoted + "wildcard pattern has nested '['";
      open_at = i;
      plain += 'x';
    } else if (c == ']') {
      if (depth-- == 0) return quoted + "wildcard pattern has unmatched ']'";
      if (i == open_at + 1) return quoted + "wildcard pattern has empty brackets '[]'";
      plain += 'x';
    } else if (c == '*' || c == '?') {
      plain += 'x';
    } else if (depth > 0 && (c == '-' || c == '!')) {
      plain += 'x';  // range and negation inside a class
    } else {
      plain += c;
    }
  }
  if (depth != 0) return quoted + "wildcard pattern has unmatched '['";
  std::string label_error = rfc1123_label_error(plain);
  return label_error.empty() ? std::string{} : quoted + label_error;
}

std::vector<std::string> validate_namespace_includes_excludes(const std::vector<std::string>& includes_list,
                                                              const std::vector<std::string>& excludes_list) {
  std::vector<std::string> errors = validate_includes_excludes(includes_list, excludes_list);
  for (const auto* list : {&includes_list, &excludes_list}) {
    std::set<std::string> sorted(list->begin(), list->end());
    for (const auto& ns : sorted) {
      if (ns == "*") continue;  // already covered by the list rules above
      std::string error = namespace_pattern_error(ns);
      if (!error.empty()) errors.push_back(error);
    }
  }
  return errors;
}

}  // namespace arca
