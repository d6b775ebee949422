#include "restore/diff.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace arca::restore {

namespace {
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Edit {
  char op;  // ' ', '-', '+'
  const std::string* line;
};

// Longest common subsequence table: objects are small (hundreds of lines), so O(n·m) is fine.
std::vector<Edit> edit_script(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<Edit> edits;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      edits.push_back({' ', &a[i++]});
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      edits.push_back({'-', &a[i++]});  // removals first, as diff -u prints them
    } else {
      edits.push_back({'+', &b[j++]});
    }
  }
  return edits;
}
}  // namespace

std::string unified_diff(const std::string& from, const std::string& to, const std::string& from_label,
                         const std::string& to_label) {
  if (from == to) return {};
  auto a = lines_of(from), b = lines_of(to);
  auto edits = edit_script(a, b);
  constexpr size_t kContext = 3;
  std::ostringstream out;
  out << "--- " << from_label << "\n+++ " << to_label << "\n";
  size_t k = 0;
  while (k < edits.size()) {
    // Find the next change and the hunk around it.
    size_t first_change = k;
    while (first_change < edits.size() && edits[first_change].op == ' ') ++first_change;
    if (first_change == edits.size()) break;
    size_t start = first_change > kContext ? first_change - kContext : 0;
    start = std::max(start, k);
    size_t end = first_change;
    for (size_t unchanged = 0; end < edits.size(); ++end) {
      unchanged = edits[end].op == ' ' ? unchanged + 1 : 0;
      if (unchanged > 2 * kContext) {
        end -= kContext;
        break;
      }
    }
    end = std::min(end, edits.size());
    size_t a_line = 1, b_line = 1;
    for (size_t e = 0; e < start; ++e) {
      if (edits[e].op != '+') ++a_line;
      if (edits[e].op != '-') ++b_line;
    }
    size_t a_count = 0, b_count = 0;
    for (size_t e = start; e < end; ++e) {
      if (edits[e].op != '+') ++a_count;
      if (edits[e].op != '-') ++b_count;
    }
    out << "@@ -" << a_line << "," << a_count << " +" << b_line << "," << b_count << " @@\n";
    for (size_t e = start; e < end; ++e) out << edits[e].op << *edits[e].line << "\n";
    k = end;
  }
  return out.str();
}

namespace {
bool is_secret(const nlohmann::json& object) {
  return object.is_object() && object.value("kind", "") == "Secret" && object.value("apiVersion", "") == "v1";
}

// Secret values never reach a terminal: as kubectl diff (k8s.io/kubectl/pkg/cmd/diff/diff.go, Masker), each
// value of data and stringData becomes "***", or "*** (before)" / "*** (after)" where the two sides differ,
// so a diff still shows which keys changed.
void mask_secret_values(nlohmann::json& before, nlohmann::json& after) {
  for (const char* field : {"data", "stringData"}) {
    nlohmann::json* a = before.is_object() && before.contains(field) ? &before[field] : nullptr;
    nlohmann::json* b = after.is_object() && after.contains(field) ? &after[field] : nullptr;
    if (a != nullptr && !a->is_object()) *a = "***";
    if (b != nullptr && !b->is_object()) *b = "***";
    if (a != nullptr && b != nullptr && a->is_object() && b->is_object()) {
      for (auto& [key, value] : a->items()) {
        auto other = b->find(key);
        if (other != b->end() && *other != value) {
          value = "*** (before)";
          *other = "*** (after)";
        }
      }
    }
    for (nlohmann::json* side : {a, b})
      if (side != nullptr && side->is_object())
        for (auto& [key, value] : side->items())
          if (!value.is_string() || !value.get_ref<const std::string&>().starts_with("*** (")) value = "***";
  }
}
}  // namespace

std::string unified_json_diff(const nlohmann::json& live, const nlohmann::json& desired) {
  if (is_secret(live) || is_secret(desired)) {
    nlohmann::json before = live, after = desired;
    mask_secret_values(before, after);
    return unified_diff(before.dump(2), after.dump(2), "in cluster", "from backup");
  }
  return unified_diff(live.dump(2), desired.dump(2), "in cluster", "from backup");
}

}  // namespace arca::restore
