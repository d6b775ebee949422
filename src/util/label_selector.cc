#include "util/label_selector.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace arca {
namespace {

constexpr const char* kQualifiedNameRule =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc')";

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool is_qualified_name_part(std::string_view s) {
  return !s.empty() && alnum(s.front()) && alnum(s.back()) &&
         std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// RFC 1123 subdomain: dot-separated lower-case labels, at most 253 characters.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (label.empty() || !lower_alnum(label.front()) || !lower_alnum(label.back()) ||
        !std::all_of(label.begin(), label.end(), [&](char c) { return lower_alnum(c) || c == '-'; }))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string in_quotes(std::string_view s) {
  // Built by appending: GCC 12 reports a false -Wrestrict on `"\"" + std::string(s) + "\""`.
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

bool is_special(char c) { return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '<' || c == '>'; }

// A hand-written lexer/parser for the selector grammar of k8s.io/apimachinery/pkg/labels.
class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  LabelSelector parse() {
    LabelSelector out;
    skip_space();
    if (at_end()) return out;
    while (true) {
      parse_requirement(out);
      skip_space();
      if (at_end()) break;
      if (text_[pos_] != ',') fail("expected ',' between requirements");
      ++pos_;
      skip_space();
      if (at_end()) fail("expected a requirement after ','");
    }
    for (const auto& error : validate_label_selector(out)) fail(error);
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw InvalidLabelSelector("invalid label selector " + in_quotes(text_) + ": " + why);
  }
  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string identifier() {
    skip_space();
    size_t start = pos_;
    while (!at_end() && !is_special(text_[pos_]) && !std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  bool consume(std::string_view token) {
    skip_space();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  std::vector<std::string> value_set() {
    if (!consume("(")) fail("expected '(' after 'in'/'notin'");
    std::vector<std::string> values;
    while (true) {
      values.push_back(identifier());
      if (consume(")")) break;
      if (!consume(",")) fail("expected ',' or ')' in value set");
    }
    if (values.size() == 1 && values[0].empty()) fail("for 'in', 'notin' operators, values set can't be empty");
    return values;
  }

  void parse_requirement(LabelSelector& out) {
    if (consume("!")) {
      std::string key = identifier();
      if (key.empty()) fail("expected a label key after '!'");
      out.match_expressions.push_back({key, "DoesNotExist", {}});
      return;
    }
    std::string key = identifier();
    if (key.empty()) fail("expected a label key at position " + std::to_string(pos_));
    skip_space();
    if (at_end() || text_[pos_] == ',') {
      out.match_expressions.push_back({key, "Exists", {}});
      return;
    }
    if (consume("!=")) {
      out.match_expressions.push_back({key, "NotIn", {identifier()}});
    } else if (consume("==") || consume("=")) {
      std::string value = identifier();
      auto [it, inserted] = out.match_labels.emplace(key, value);
      if (!inserted && it->second != value) out.match_expressions.push_back({key, "In", {value}});
    } else if (text_[pos_] == '<' || text_[pos_] == '>') {
      fail("operators '<' and '>' cannot be expressed in a LabelSelector");
    } else {
      std::string op = identifier();
      if (op == "in") {
        out.match_expressions.push_back({key, "In", value_set()});
      } else if (op == "notin") {
        out.match_expressions.push_back({key, "NotIn", value_set()});
      } else {
        fail("unknown operator " + in_quotes(op) + " after key " + in_quotes(key) + " (expected =, ==, !=, in, notin)");
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::string join_sorted(const std::vector<std::string>& values) {
  std::set<std::string> sorted(values.begin(), values.end());
  std::string out;
  for (const auto& v : sorted) out += (out.empty() ? "" : ",") + v;
  return out;
}

}  // namespace

std::vector<std::string> label_key_errors(std::string_view key) {
  std::vector<std::string> errors;
  const std::string where = "label key " + in_quotes(key) + ": ";
  std::string_view name = key;
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      errors.push_back(where + "a qualified name " + kQualifiedNameRule +
                       " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errors;
    }
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      errors.push_back(where + "prefix part must be non-empty");
    } else if (!is_dns_subdomain(prefix)) {
      errors.push_back(where +
                       "prefix part must be a lowercase RFC 1123 subdomain (lower case alphanumeric characters, '-' "
                       "or '.', starting and ending with an alphanumeric character, e.g. 'example.com')");
    }
  }
  if (name.empty()) {
    errors.push_back(where + "name part must be non-empty");
  } else {
    if (name.size() > 63) errors.push_back(where + "name part must be no more than 63 characters");
    if (!is_qualified_name_part(name)) errors.push_back(where + "name part " + kQualifiedNameRule);
  }
  return errors;
}

std::vector<std::string> label_value_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.empty()) return errors;
  const std::string where = "label value " + in_quotes(value) + ": ";
  if (value.size() > 63) errors.push_back(where + "must be no more than 63 characters");
  if (!is_qualified_name_part(value))
    errors.push_back(where +
                     "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                     "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                     "'12345')");
  return errors;
}

std::vector<std::string> validate_label_selector(const LabelSelector& selector) {
  std::vector<std::string> errors;
  auto add = [&](std::vector<std::string> more) { errors.insert(errors.end(), more.begin(), more.end()); };
  for (const auto& [key, value] : selector.match_labels) {
    add(label_key_errors(key));
    add(label_value_errors(value));
  }
  for (const auto& r : selector.match_expressions) {
    add(label_key_errors(r.key));
    if (r.op == "In" || r.op == "NotIn") {
      if (r.values.empty())
        errors.push_back("label key " + in_quotes(r.key) + ": values set can't be empty for operator " + r.op);
      for (const auto& v : r.values) add(label_value_errors(v));
    } else if (r.op == "Exists" || r.op == "DoesNotExist") {
      if (!r.values.empty())
        errors.push_back("label key " + in_quotes(r.key) + ": values set must be empty for operator " + r.op);
    } else {
      errors.push_back("label key " + in_quotes(r.key) + ": " + in_quotes(r.op) +
                       " is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)");
    }
  }
  return errors;
}

LabelSelector parse_label_selector(std::string_view text) { return SelectorParser(text).parse(); }

bool selector_matches(const LabelSelector& selector, const Labels& labels) {
  for (const auto& [key, value] : selector.match_labels) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  for (const auto& r : selector.match_expressions) {
    auto it = labels.find(r.key);
    bool present = it != labels.end();
    bool in_set = present && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    if (r.op == "In" && !in_set) return false;
    if (r.op == "NotIn" && in_set) return false;
    if (r.op == "Exists" && !present) return false;
    if (r.op == "DoesNotExist" && present) return false;
  }
  return true;
}

std::string to_selector_string(const LabelSelector& selector) {
  // Kubernetes sorts requirements by key; a stable sort keeps matchLabels before expressions on the same key.
  std::vector<std::pair<std::string, std::string>> parts;
  for (const auto& [key, value] : selector.match_labels) parts.emplace_back(key, key + "=" + value);
  for (const auto& r : selector.match_expressions) {
    if (r.op == "In") parts.emplace_back(r.key, r.key + " in (" + join_sorted(r.values) + ")");
    if (r.op == "NotIn") parts.emplace_back(r.key, r.key + " notin (" + join_sorted(r.values) + ")");
    if (r.op == "Exists") parts.emplace_back(r.key, r.key);
    if (r.op == "DoesNotExist") parts.emplace_back(r.key, "!" + r.key);
  }
  std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, text] : parts) out += (out.empty() ? "" : ",") + text;
  return out;
}

std::string format_label_selector(const LabelSelector* selector) {
  std::string text = selector ? to_selector_string(*selector) : std::string{};
  return text.empty() ? "<none>" : text;
}

void to_json(nlohmann::json& j, const LabelSelectorRequirement& r) {
  j = nlohmann::json{{"key", r.key}, {"operator", r.op}};
  if (!r.values.empty()) j["values"] = r.values;
}

void from_json(const nlohmann::json& j, LabelSelectorRequirement& r) {
  r.key = j.value("key", "");
  r.op = j.value("operator", "");
  r.values = j.contains("values") && !j["values"].is_null() ? j["values"].get<std::vector<std::string>>()
                                                             : std::vector<std::string>{};
}

void to_json(nlohmann::json& j, const LabelSelector& s) {
  j = nlohmann::json::object();
  if (!s.match_labels.empty()) j["matchLabels"] = s.match_labels;
  if (!s.match_expressions.empty()) j["matchExpressions"] = s.match_expressions;
}

void from_json(const nlohmann::json& j, LabelSelector& s) {
  s = {};
  if (j.contains("matchLabels") && !j["matchLabels"].is_null()) s.match_labels = j["matchLabels"].get<Labels>();
  if (j.contains("matchExpressions") && !j["matchExpressions"].is_null())
    s.match_expressions = j["matchExpressions"].get<std::vector<LabelSelectorRequirement>>();
}

}  // namespace arca
