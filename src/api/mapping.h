#pragma once
// Internal to src/api: the generic code that derives each API type's JSON mapping and OpenAPI v3 schema from its
// description in api/describe.h.
#include "api/describe.h"

namespace arca::api::mapping {

// ---- JSON --------------------------------------------------------------------------------------------------
const char* json_type_name(const json& j);

template <class T>
json encode(const T& value);

template <class T>
bool is_empty(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return !v;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return v == 0;
  } else if constexpr (NamedEnum<T>) {
    return static_cast<size_t>(v) == 0;
  } else if constexpr (is_optional<T>::value) {
    return !v.has_value();
  } else if constexpr (std::is_same_v<T, json>) {
    return v.is_null();
  } else {
    return v.empty();  // strings, vectors, maps
  }
}

// Go's omitempty: empty values are left out, except required fields (Velero declares those without omitempty,
// and the API server rejects an object that lacks them); an unset pointer (std::optional) is always left out.
// Nested structs are encoded once and dropped when they come out empty.
template <class F, class M>
void put_field(json& out, const F& field, const M& value) {
  if constexpr (is_optional<M>::value) {
    if (!value) return;
  } else if constexpr (Described<M>) {
    json encoded = encode(value);
    if (!encoded.empty() || field.options.required) out[std::string(field.name)] = std::move(encoded);
    return;
  } else {
    if (!field.options.required && is_empty(value)) return;
  }
  out[std::string(field.name)] = encode(value);
}

template <class T>
json encode(const T& value) {
  if constexpr (std::is_same_v<T, Duration>) {
    return format_duration(value);
  } else if constexpr (std::is_same_v<T, Timestamp>) {
    return format_rfc3339(value);
  } else if constexpr (NamedEnum<T>) {
    return std::string(to_string(value));
  } else if constexpr (is_optional<T>::value) {
    return value ? encode(*value) : json();
  } else if constexpr (is_vector<T>::value) {
    json out = json::array();
    for (const auto& item : value) out.push_back(encode(item));
    return out;
  } else if constexpr (is_string_map<T>::value) {
    json out = json::object();
    for (const auto& [key, item] : value) out[key] = encode(item);
    return out;
  } else if constexpr (Described<T>) {
    json out = json::object();
    if constexpr (Resource<T>) {
      out["apiVersion"] = Describe<T>::api_version;
      out["kind"] = Describe<T>::kind;
    }
    std::apply([&](const auto&... f) { (put_field(out, f, value.*(f.member)), ...); }, Describe<T>::fields);
    if constexpr (requires { value.unknown; }) {
      if (value.unknown.is_object()) {
        for (const auto& [key, item] : value.unknown.items()) {
          if (!out.contains(key)) out[key] = item;
        }
      }
    }
    return out;
  } else {
    return json(value);  // string, bool, integers, json, LabelSelector (util's to_json)
  }
}

[[noreturn]] void type_mismatch(const std::string& path, const char* expected, const json& j);

template <class T>
void decode(const json& j, T& out, const std::string& path) {
  if (j.is_null()) {
    out = T{};
    return;
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) type_mismatch(path, "a string", j);
    out = j.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) type_mismatch(path, "a boolean", j);
    out = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!j.is_number_integer()) type_mismatch(path, "an integer", j);
    out = j.get<T>();
  } else if constexpr (std::is_same_v<T, Duration>) {
    if (!j.is_string()) type_mismatch(path, "a duration string such as \"720h0m0s\"", j);
    try {
      out = parse_duration(j.get<std::string>());
    } catch (const std::exception& e) {
      throw DecodeError(path + ": " + e.what());
    }
  } else if constexpr (std::is_same_v<T, Timestamp>) {
    if (!j.is_string()) type_mismatch(path, "an RFC 3339 timestamp", j);
    try {
      out = parse_rfc3339(j.get<std::string>());
    } catch (const std::exception& e) {
      throw DecodeError(path + ": " + e.what());
    }
  } else if constexpr (NamedEnum<T>) {
    if (!j.is_string()) type_mismatch(path, "a string", j);
    try {
      out = enum_from_string<T>(j.get<std::string>());
    } catch (const std::exception& e) {
      throw DecodeError(path + ": " + e.what());
    }
  } else if constexpr (is_optional<T>::value) {
    out.emplace();
    decode(j, *out, path);
  } else if constexpr (is_vector<T>::value) {
    if (!j.is_array()) type_mismatch(path, "an array", j);
    out.clear();
    out.resize(j.size());
    for (size_t i = 0; i < j.size(); ++i) decode(j[i], out[i], path + "[" + std::to_string(i) + "]");
  } else if constexpr (is_string_map<T>::value) {
    if (!j.is_object()) type_mismatch(path, "an object", j);
    out.clear();
    for (const auto& [key, item] : j.items()) decode(item, out[key], path + "." + key);
  } else if constexpr (std::is_same_v<T, json>) {
    out = j;
  } else if constexpr (std::is_same_v<T, LabelSelector>) {
    if (!j.is_object()) type_mismatch(path, "a label selector object", j);
    try {
      out = j.get<LabelSelector>();
    } catch (const std::exception& e) {
      throw DecodeError(path + ": " + e.what());
    }
  } else {
    static_assert(Described<T>, "no JSON mapping for this type");
    if (!j.is_object()) type_mismatch(path, "an object", j);
    out = T{};
    const std::string prefix = path.empty() ? "" : path + ".";
    if constexpr (Resource<T>) {
      std::string kind = j.value("kind", "");
      if (!kind.empty() && kind != Describe<T>::kind)
        throw DecodeError(prefix + "kind: expected " + Describe<T>::kind + ", got " + kind);
    }
    std::apply(
        [&](const auto&... f) {
          ((j.contains(std::string(f.name)) ? decode(j.at(std::string(f.name)), out.*(f.member), prefix + std::string(f.name))
                                            : void()),
           ...);
        },
        Describe<T>::fields);
    if constexpr (requires { out.unknown; }) {
      for (const auto& entry : j.items()) {
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda below.
        const std::string& key = entry.key();
        const auto& item = entry.value();
        bool known = false;
        std::apply([&](const auto&... f) { known = ((f.name == key) || ...); }, Describe<T>::fields);
        if constexpr (Resource<T>) known = known || key == "apiVersion" || key == "kind";
        if (!known) out.unknown[key] = item;
      }
    }
  }
}

// ---- OpenAPI v3 schema -------------------------------------------------------------------------------------
json label_selector_schema();

template <class T>
json schema() {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Duration>) {
    return {{"type", "string"}};
  } else if constexpr (std::is_same_v<T, Timestamp>) {
    return {{"type", "string"}, {"format", "date-time"}};
  } else if constexpr (std::is_same_v<T, bool>) {
    return {{"type", "boolean"}};
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return {{"type", "integer"}, {"format", "int64"}};
  } else if constexpr (std::is_integral_v<T>) {
    return {{"type", "integer"}};
  } else if constexpr (NamedEnum<T>) {
    json values = json::array();
    for (size_t i = 1; i < EnumNames<T>::names.size(); ++i) values.push_back(EnumNames<T>::names[i]);
    if constexpr (requires { EnumNames<T>::empty_is_listed; }) values.push_back("");
    return {{"type", "string"}, {"enum", values}};
  } else if constexpr (is_optional<T>::value) {
    return schema<typename T::value_type>();
  } else if constexpr (is_vector<T>::value) {
    return {{"type", "array"}, {"items", schema<typename T::value_type>()}};
  } else if constexpr (is_string_map<T>::value) {
    return {{"type", "object"}, {"additionalProperties", schema<typename T::mapped_type>()}};
  } else if constexpr (std::is_same_v<T, json>) {
    return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
  } else if constexpr (std::is_same_v<T, LabelSelector>) {
    return label_selector_schema();
  } else if constexpr (std::is_same_v<T, ObjectMeta>) {
    return {{"type", "object"}};  // the API server owns metadata's schema
  } else {
    static_assert(Described<T>, "no schema for this type");
    json properties = json::object();
    json required = json::array();
    if constexpr (Resource<T>) {
      properties["apiVersion"] = {{"type", "string"}};
      properties["kind"] = {{"type", "string"}};
    }
    auto add = [&](const auto& f) {
      using Member = std::remove_cvref_t<decltype(std::declval<T>().*(f.member))>;
      json s = schema<Member>();
      const FieldOptions& o = f.options;
      if (o.nullable) s["nullable"] = true;
      if (o.atomic_list) s["x-kubernetes-list-type"] = "atomic";
      if (o.preserve_unknown) s["x-kubernetes-preserve-unknown-fields"] = true;
      if (o.default_empty) s["default"] = "";
      if (o.format) s["format"] = o.format;
      if (o.min_items > 0) s["minItems"] = o.min_items;
      if (o.enum_values) {
        json values = json::array();
        std::string_view rest = o.enum_values;
        while (!rest.empty()) {
          std::string_view value = rest.substr(0, rest.find(';'));
          values.push_back(value == "\"\"" ? std::string() : std::string(value));
          rest = value.size() < rest.size() ? rest.substr(value.size() + 1) : std::string_view();
        }
        s["enum"] = std::move(values);
      }
      if (o.required) required.push_back(f.name);
      properties[std::string(f.name)] = std::move(s);
    };
    std::apply([&](const auto&... f) { (add(f), ...); }, Describe<T>::fields);
    json out{{"type", "object"}};
    if (!properties.empty()) out["properties"] = std::move(properties);
    if (!required.empty()) out["required"] = std::move(required);
    if constexpr (requires { Describe<T>::atomic; }) out["x-kubernetes-map-type"] = "atomic";
    return out;
  }
}

}  // namespace arca::api::mapping
