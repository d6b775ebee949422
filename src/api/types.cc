#include "api/types.h"

#include "api/mapping.h"

namespace arca::api {
namespace mapping {

const char* json_type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

void type_mismatch(const std::string& path, const char* expected, const json& j) {
  throw DecodeError((path.empty() ? std::string("document") : path) + ": expected " + expected + ", got " +
                    json_type_name(j));
}

json label_selector_schema() {
  json requirement{{"type", "object"},
                   {"required", {"key", "operator"}},
                   {"properties",
                    {{"key", {{"type", "string"}}},
                     {"operator", {{"type", "string"}}},
                     {"values",
                      {{"type", "array"}, {"items", {{"type", "string"}}}, {"x-kubernetes-list-type", "atomic"}}}}}};
  return {{"type", "object"},
          {"x-kubernetes-map-type", "atomic"},
          {"properties",
           {{"matchExpressions", {{"type", "array"}, {"items", requirement}, {"x-kubernetes-list-type", "atomic"}}},
            {"matchLabels", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}}}}};
}

}  // namespace mapping

#define ARCA_API_DEFINE_JSON(T)                                                 \
  void to_json(json& j, const T& value) { j = mapping::encode(value); }         \
  void from_json(const json& j, T& value) { mapping::decode(j, value, std::string{}); }
ARCA_API_JSON_TYPES(ARCA_API_DEFINE_JSON)
#undef ARCA_API_DEFINE_JSON

}  // namespace arca::api
