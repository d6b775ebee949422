// Label selectors follow k8s.io/apimachinery/pkg/labels/selector.go token by token (lexer, parser contexts,
// error texts), field selectors follow pkg/fields/selector.go, so error messages match a real server.
#include "kubelite/semantics/selector.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "kubelite/semantics/errors.h"
#include "kubelite/semantics/validation.h"

namespace kubelite {
namespace {

enum class Tok {
  Error, End, ClosedPar, Comma, DoesNotExist, DoubleEquals, Equals, GreaterThan, Identifier, In, LessThan,
  NotEquals, NotIn, OpenPar
};

struct Item {
  Tok tok;
  std::string literal;
};

bool is_whitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_special(char c) { return std::string_view("=!(),><").find(c) != std::string_view::npos; }

bool special_token(const std::string& s, Tok& tok) {
  static const std::pair<const char*, Tok> table[] = {
      {")", Tok::ClosedPar}, {",", Tok::Comma}, {"!", Tok::DoesNotExist}, {"==", Tok::DoubleEquals},
      {"=", Tok::Equals},    {">", Tok::GreaterThan}, {"<", Tok::LessThan}, {"!=", Tok::NotEquals},
      {"(", Tok::OpenPar}};
  for (const auto& [text, t] : table)
    if (s == text) {
      tok = t;
      return true;
    }
  return false;
}

std::vector<Item> lex(std::string_view s) {
  std::vector<Item> items;
  size_t i = 0;
  for (;;) {
    while (i < s.size() && is_whitespace(s[i])) ++i;
    if (i >= s.size()) {
      items.push_back({Tok::End, ""});
      return items;
    }
    if (is_special(s[i])) {
      // Longest run of special characters that still forms a known operator.
      std::string buffer;
      Item last{Tok::Error, ""};
      bool found = false;
      while (i < s.size() && is_special(s[i])) {
        buffer += s[i];
        Tok t;
        if (special_token(buffer, t)) {
          last = {t, buffer};
          found = true;
          ++i;
        } else if (found) {
          break;
        } else {
          ++i;
        }
      }
      if (!found) last = {Tok::Error, "error expected: keyword found '" + buffer + "'"};
      items.push_back(last);
      if (!found) {
        items.push_back({Tok::End, ""});
        return items;
      }
      continue;
    }
    size_t start = i;
    while (i < s.size() && !is_whitespace(s[i]) && !is_special(s[i])) ++i;
    std::string word(s.substr(start, i - start));
    Tok t = word == "in" ? Tok::In : word == "notin" ? Tok::NotIn : Tok::Identifier;
    items.push_back({t, word});
  }
}

enum class Context { KeyAndOperator, Values };

struct Parser {
  std::vector<Item> items;
  size_t pos = 0;

  Item lookahead(Context ctx) const {
    Item it = items[pos];
    if (ctx == Context::Values && (it.tok == Tok::In || it.tok == Tok::NotIn)) it.tok = Tok::Identifier;
    return it;
  }
  Item consume(Context ctx) {
    Item it = lookahead(ctx);
    if (pos + 1 < items.size()) ++pos;
    return it;
  }
};

[[noreturn]] void fail(const std::string& message) { throw ApiError(400, "BadRequest", message); }

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void validate_key(const std::string& key) {
  // labels.validateLabelKey with a nil field path, which Go prints as "<nil>".
  auto errs = is_qualified_name(key);
  if (!errs.empty()) throw std::runtime_error("<nil>: Invalid value: " + quote(key) + ": " + join_problems(errs));
}

std::set<std::string> parse_identifiers_list(Parser& p) {
  std::set<std::string> s;
  for (;;) {
    Item it = p.consume(Context::Values);
    if (it.tok == Tok::Identifier) {
      s.insert(it.literal);
      Item next = p.lookahead(Context::Values);
      if (next.tok == Tok::Comma) continue;
      if (next.tok == Tok::ClosedPar) return s;
      throw std::runtime_error("found '" + next.literal + "', expected: ',' or ')'");
    } else if (it.tok == Tok::Comma) {
      if (s.empty()) s.insert("");
      Item next = p.lookahead(Context::Values);
      if (next.tok == Tok::ClosedPar) {
        s.insert("");
        return s;
      }
      if (next.tok == Tok::Comma) {
        p.consume(Context::Values);
        s.insert("");
      }
    } else {
      throw std::runtime_error("found '" + it.literal + "', expected: ',', or identifier");
    }
  }
}

std::set<std::string> parse_values(Parser& p) {
  Item it = p.consume(Context::Values);
  if (it.tok != Tok::OpenPar) throw std::runtime_error("found '" + it.literal + "' expected: '('");
  Item next = p.lookahead(Context::Values);
  if (next.tok == Tok::Identifier || next.tok == Tok::Comma) {
    auto s = parse_identifiers_list(p);
    if (p.consume(Context::Values).tok != Tok::ClosedPar)
      throw std::runtime_error("found '" + next.literal + "', expected: ')'");
    return s;
  }
  if (next.tok == Tok::ClosedPar) {
    p.consume(Context::Values);
    return {""};
  }
  throw std::runtime_error("found '" + next.literal + "', expected: ',', ')' or identifier");
}

std::set<std::string> parse_exact_value(Parser& p) {
  Item next = p.lookahead(Context::Values);
  if (next.tok == Tok::End || next.tok == Tok::Comma) return {""};
  Item it = p.consume(Context::Values);
  if (it.tok == Tok::Identifier) return {it.literal};
  throw std::runtime_error("found '" + it.literal + "', expected: identifier");
}

bool parse_int64(std::string_view s, long long& out) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (b != e && *b == '+') ++b;  // strconv.ParseInt accepts a leading sign
  auto [ptr, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && ptr == e && b != e;
}

// labels.NewRequirement's checks on values (the key was validated while parsing).
void validate_requirement(const LabelRequirement& r) {
  std::vector<std::string> errs;
  if (r.op == LabelRequirement::Op::GreaterThan || r.op == LabelRequirement::Op::LessThan) {
    for (size_t i = 0; i < r.values.size(); ++i) {
      long long ignored;
      if (!parse_int64(r.values[i], ignored))
        errs.push_back("values[" + std::to_string(i) + "]: Invalid value: " + quote(r.values[i]) +
                       ": for 'Gt', 'Lt' operators, the value must be an integer");
    }
  }
  for (size_t i = 0; i < r.values.size(); ++i) {
    auto problems = is_valid_label_value(r.values[i]);
    if (!problems.empty())
      errs.push_back("values[" + std::to_string(i) + "][" + r.key + "]: Invalid value: " + quote(r.values[i]) +
                     ": " + join_problems(problems));
  }
  if (errs.size() == 1) throw std::runtime_error(errs[0]);
  if (errs.size() > 1) {
    std::string joined = "[";
    for (size_t i = 0; i < errs.size(); ++i) joined += (i ? ", " : "") + errs[i];
    throw std::runtime_error(joined + "]");
  }
}

LabelRequirement parse_requirement(Parser& p) {
  LabelRequirement r;
  bool have_op = false;
  Item it = p.consume(Context::Values);
  if (it.tok == Tok::DoesNotExist) {
    r.op = LabelRequirement::Op::DoesNotExist;
    have_op = true;
    it = p.consume(Context::Values);
  }
  if (it.tok != Tok::Identifier) throw std::runtime_error("found '" + it.literal + "', expected: identifier");
  validate_key(it.literal);
  r.key = it.literal;
  Tok next = p.lookahead(Context::Values).tok;
  if ((next == Tok::End || next == Tok::Comma) && !have_op) {
    r.op = LabelRequirement::Op::Exists;
    have_op = true;
  }
  if (have_op) return r;

  Item op = p.consume(Context::KeyAndOperator);
  std::set<std::string> values;
  switch (op.tok) {
    case Tok::In: r.op = LabelRequirement::Op::In; values = parse_values(p); break;
    case Tok::NotIn: r.op = LabelRequirement::Op::NotIn; values = parse_values(p); break;
    case Tok::Equals:
    case Tok::DoubleEquals: r.op = LabelRequirement::Op::Equals; values = parse_exact_value(p); break;
    case Tok::NotEquals: r.op = LabelRequirement::Op::NotEquals; values = parse_exact_value(p); break;
    case Tok::GreaterThan: r.op = LabelRequirement::Op::GreaterThan; values = parse_exact_value(p); break;
    case Tok::LessThan: r.op = LabelRequirement::Op::LessThan; values = parse_exact_value(p); break;
    default:
      throw std::runtime_error("found '" + op.literal + "', expected: in, !=, notin, ==, =, >, <");
  }
  r.values.assign(values.begin(), values.end());  // sets.String.List() is sorted
  validate_requirement(r);
  return r;
}

const std::string* label_value(const nlohmann::json& labels, const std::string& key) {
  if (!labels.is_object()) return nullptr;
  auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

}  // namespace

bool LabelSelector::matches(const nlohmann::json& labels) const {
  for (const auto& r : requirements) {
    const std::string* v = label_value(labels, r.key);
    auto in_values = [&] { return v && std::find(r.values.begin(), r.values.end(), *v) != r.values.end(); };
    bool ok = false;
    switch (r.op) {
      case LabelRequirement::Op::Equals:
      case LabelRequirement::Op::In: ok = in_values(); break;
      case LabelRequirement::Op::NotEquals:
      case LabelRequirement::Op::NotIn: ok = !v || !in_values(); break;
      case LabelRequirement::Op::Exists: ok = v != nullptr; break;
      case LabelRequirement::Op::DoesNotExist: ok = v == nullptr; break;
      case LabelRequirement::Op::GreaterThan:
      case LabelRequirement::Op::LessThan: {
        long long have, want;
        if (!v || r.values.size() != 1 || !parse_int64(*v, have) || !parse_int64(r.values[0], want)) break;
        ok = r.op == LabelRequirement::Op::GreaterThan ? have > want : have < want;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

LabelSelector parse_label_selector(std::string_view text) {
  Parser p{lex(text)};
  LabelSelector selector;
  for (;;) {
    Item it = p.lookahead(Context::Values);
    if (it.tok == Tok::End) break;
    if (it.tok != Tok::Identifier && it.tok != Tok::DoesNotExist)
      fail("found '" + it.literal + "', expected: !, identifier, or 'end of string'");
    try {
      selector.requirements.push_back(parse_requirement(p));
    } catch (const std::runtime_error& e) {
      fail(std::string("unable to parse requirement: ") + e.what());
    }
    Item sep = p.consume(Context::Values);
    if (sep.tok == Tok::End) break;
    if (sep.tok != Tok::Comma) fail("found '" + sep.literal + "', expected: ',' or 'end of string'");
    Item after = p.lookahead(Context::Values);
    if (after.tok != Tok::Identifier && after.tok != Tok::DoesNotExist)
      fail("found '" + after.literal + "', expected: identifier after ','");
  }
  // The real selector keeps requirements sorted by key; matching does not depend on it, String() does.
  std::stable_sort(selector.requirements.begin(), selector.requirements.end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
  return selector;
}

// ---------------------------------------------------------------------------------------------------------
// Field selectors

namespace {

std::string field_value(const nlohmann::json& object, const std::string& dotted) {
  const nlohmann::json* node = &object;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return "";
    auto it = node->find(part);
    if (it == node->end()) return "";
    node = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (node->is_string()) return node->get<std::string>();
  if (node->is_boolean()) return node->get<bool>() ? "true" : "false";
  if (node->is_number()) return node->dump();
  if (node->is_null()) return "";
  return node->dump();
}

// fields.splitTerms: commas separate terms unless escaped with a backslash.
std::vector<std::string> split_terms(std::string_view s) {
  std::vector<std::string> terms;
  if (s.empty()) return terms;
  std::string current;
  bool escaped = false;
  for (char c : s) {
    if (escaped) {
      current += '\\';
      current += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ',') {
      terms.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (escaped) current += '\\';
  terms.push_back(current);
  return terms;
}

std::string unescape_value(const std::string& s) {
  if (s.find('\\') == std::string::npos) return s;
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (i + 1 >= s.size()) fail("invalid field selector: unterminated escape sequence at end of value");
    char c = s[++i];
    if (c != '\\' && c != ',' && c != '=')
      fail(std::string("invalid field selector: invalid escape sequence: \\") + c);
    out += c;
  }
  return out;
}

}  // namespace

bool FieldSelector::matches(const nlohmann::json& object) const {
  for (const auto& r : requirements) {
    if ((field_value(object, r.field) == r.value) != r.equals) return false;
  }
  return true;
}

std::vector<std::string> supported_field_selectors(const std::string& group, const std::string& resource) {
  std::vector<std::string> fields = {"metadata.name", "metadata.namespace"};
  auto add = [&](std::initializer_list<const char*> extra) { fields.insert(fields.end(), extra.begin(), extra.end()); };
  if (group.empty()) {
    if (resource == "pods")
      add({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
           "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"});
    else if (resource == "events")
      add({"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
           "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
           "reportingComponent", "source", "type"});
    else if (resource == "secrets")
      add({"type"});
    else if (resource == "namespaces")
      add({"status.phase"});
    else if (resource == "nodes")
      add({"spec.unschedulable"});
    else if (resource == "replicationcontrollers")
      add({"status.replicas"});
  } else if (group == "apps" && resource == "replicasets") {
    add({"status.replicas"});
  } else if (group == "batch" && resource == "jobs") {
    add({"status.successful"});
  } else if (group == "certificates.k8s.io" && resource == "certificatesigningrequests") {
    add({"spec.signerName"});
  }
  return fields;
}

FieldSelector parse_field_selector(std::string_view text, const std::vector<std::string>& supported) {
  FieldSelector selector;
  for (const std::string& term : split_terms(text)) {
    if (term.empty()) continue;
    FieldRequirement r;
    size_t at = std::string::npos, len = 0;
    // fields.splitTerm tries "!=", "==", "=" in that order at each position.
    for (size_t i = 0; i < term.size() && at == std::string::npos; ++i) {
      if (term.compare(i, 2, "!=") == 0) { at = i; len = 2; r.equals = false; }
      else if (term.compare(i, 2, "==") == 0) { at = i; len = 2; }
      else if (term[i] == '=') { at = i; len = 1; }
    }
    if (at == std::string::npos)
      fail("invalid selector: '" + std::string(text) + "'; can't understand '" + term + "'");
    r.field = term.substr(0, at);
    r.value = unescape_value(term.substr(at + len));
    if (std::find(supported.begin(), supported.end(), r.field) == supported.end()) {
      // Kinds without their own conversion function use runtime.DefaultMetaV1FieldSelectorConversion, whose
      // message names the two allowed fields; kinds with extra fields answer "field label not supported".
      if (supported.size() == 2)
        fail("\"" + r.field + "\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");
      fail("field label not supported: " + r.field);
    }
    selector.requirements.push_back(std::move(r));
  }
  return selector;
}

}  // namespace kubelite
