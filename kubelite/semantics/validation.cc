#include "kubelite/semantics/validation.h"

#include <algorithm>

namespace kubelite {
namespace {

constexpr const char* kDns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr const char* kDns1123SubdomainFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr const char* kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr const char* kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr const char* kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character";

// The patterns above, matched by hand: they run on every name and label of every write, where std::regex cost a
// few percent of a restore's API server CPU.
bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

bool matches_dns1123_label(std::string_view v) {
  return !v.empty() && lower_alnum(v.front()) && lower_alnum(v.back()) &&
         std::all_of(v.begin(), v.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

bool matches_dns1123_subdomain(std::string_view v) {
  for (size_t start = 0;;) {
    size_t dot = v.find('.', start);
    if (!matches_dns1123_label(v.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool matches_qualified_name(std::string_view v) {
  return !v.empty() && alnum(v.front()) && alnum(v.back()) &&
         std::all_of(v.begin(), v.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// validation.RegexError: `<msg> (e.g. 'a',  or 'b', regex used for validation is '<fmt>')` — the double
// space is in the Go source.
std::string regex_error(const std::string& msg, const char* fmt, std::initializer_list<const char*> examples) {
  std::string s = msg;
  if (examples.size() > 0) {
    s += " (e.g. ";
    bool first = true;
    for (const char* e : examples) {
      if (!first) s += " or ";
      first = false;
      s += "'";
      s += e;
      s += "', ";
    }
    s += "regex used for validation is '";
    s += fmt;
    s += "')";
  } else {
    s += std::string(" (regex used for validation is '") + fmt + "')";
  }
  return s;
}

std::string max_len_error(size_t n) { return "must be no more than " + std::to_string(n) + " characters"; }

}  // namespace

std::vector<std::string> is_dns1123_subdomain(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 253) errs.push_back(max_len_error(253));
  if (!matches_dns1123_subdomain(value))
    errs.push_back(regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                               "'-' or '.', and must start and end with an alphanumeric character",
                               kDns1123SubdomainFmt, {"example.com"}));
  return errs;
}

std::vector<std::string> is_dns1123_label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) errs.push_back(max_len_error(63));
  if (!matches_dns1123_label(value))
    errs.push_back(regex_error("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                               "'-', and must start and end with an alphanumeric character",
                               kDns1123LabelFmt, {"my-name", "123-abc"}));
  return errs;
}

std::vector<std::string> is_qualified_name(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  const size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back("a qualified name " +
                     regex_error(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    const std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const auto& m : is_dns1123_subdomain(prefix)) errs.push_back("prefix part " + m);
    }
  }
  if (name.empty())
    errs.push_back("name part must be non-empty");
  else if (name.size() > 63)
    errs.push_back("name part " + max_len_error(63));
  if (!matches_qualified_name(name))
    errs.push_back("name part " + regex_error(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}));
  return errs;
}

std::vector<std::string> is_valid_label_value(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) errs.push_back(max_len_error(63));
  if (!value.empty() && !matches_qualified_name(value))
    errs.push_back(regex_error("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                               "'_' or '.', and must start and end with an alphanumeric character",
                               kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  return errs;
}

std::string join_problems(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out;
}

}  // namespace kubelite
