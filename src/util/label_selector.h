#pragma once
// Label selectors on arca's side: metav1.LabelSelector {matchLabels, matchExpressions} and the string syntax
// `a=1,b!=2,c in (x,y),d notin (z),e,!f`. Parse, validate (Kubernetes key/value rules), match a labels map and
// render the canonical query string (keys sorted, as the API server and `velero get` print it).
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace arca {

using Labels = std::map<std::string, std::string>;

// metav1.LabelSelectorRequirement; `op` is one of In, NotIn, Exists, DoesNotExist.
struct LabelSelectorRequirement {
  std::string key;
  std::string op;
  std::vector<std::string> values;
  bool operator==(const LabelSelectorRequirement&) const = default;
};

// metav1.LabelSelector. An empty selector matches everything; a missing one (std::optional) is "no selector".
struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
  bool operator==(const LabelSelector&) const = default;
  bool empty() const { return match_labels.empty() && match_expressions.empty(); }
};

struct InvalidLabelSelector : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Parses the string syntax into a LabelSelector (`a=1` → matchLabels; `!=`/`notin` → NotIn; `in` → In;
// `k` → Exists; `!k` → DoesNotExist). Throws InvalidLabelSelector with one line naming the problem.
LabelSelector parse_label_selector(std::string_view text);

// Every problem with keys, values and operators, with Kubernetes' wording; empty when valid.
std::vector<std::string> validate_label_selector(const LabelSelector& selector);

// Problems with one label key / value (qualified name: optional DNS-subdomain prefix + '/' + name).
std::vector<std::string> label_key_errors(std::string_view key);
std::vector<std::string> label_value_errors(std::string_view value);

// True when every requirement holds for `labels`. The selector must be valid.
bool selector_matches(const LabelSelector& selector, const Labels& labels);

// Canonical query string: requirements sorted by key, values sorted, e.g. `app=web,tier in (a,b),!old`.
// An empty selector renders as "".
std::string to_selector_string(const LabelSelector& selector);
// As `velero get` prints a selector column: "<none>" for an empty selector.
std::string format_label_selector(const LabelSelector* selector);

void to_json(nlohmann::json& j, const LabelSelectorRequirement& r);
void from_json(const nlohmann::json& j, LabelSelectorRequirement& r);
void to_json(nlohmann::json& j, const LabelSelector& s);
void from_json(const nlohmann::json& j, LabelSelector& s);

}  // namespace arca
