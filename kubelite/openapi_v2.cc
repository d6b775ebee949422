#include "kubelite/openapi_v2.h"

#include <stdexcept>

namespace kubelite {

using json = nlohmann::json;

namespace {

// Field numbers of gnostic's OpenAPIv2.proto (package openapi.v2) for the messages used here.
namespace field {
constexpr int kDocumentSwagger = 1, kDocumentInfo = 2, kDocumentPaths = 8, kDocumentDefinitions = 9;
constexpr int kInfoTitle = 1, kInfoVersion = 2;
constexpr int kPathsPath = 2;                                    // repeated NamedPathItem
constexpr int kNamedName = 1, kNamedValue = 2;                   // every Named* message
constexpr int kPathItemPatch = 8, kPathItemParameters = 9;
constexpr int kOperationOperationId = 5, kOperationProduces = 6, kOperationConsumes = 7, kOperationParameters = 8,
              kOperationResponses = 9, kOperationVendorExtension = 13;
constexpr int kParametersItemParameter = 1;
constexpr int kParameterBody = 1, kParameterNonBody = 2;
constexpr int kNonBodyQuery = 3, kNonBodyPath = 4;
constexpr int kBodyDescription = 1, kBodyName = 2, kBodyIn = 3, kBodyRequired = 4, kBodySchema = 5;
constexpr int kSchemaType = 22, kTypeItemValue = 1;
// QueryParameterSubSchema and PathParameterSubSchema share 1-4; type and uniqueItems differ.
constexpr int kSubRequired = 1, kSubIn = 2, kSubDescription = 3, kSubName = 4;
constexpr int kQueryType = 6, kQueryUniqueItems = 20, kPathType = 5, kPathUniqueItems = 19;
constexpr int kResponsesResponseCode = 1, kResponseValueResponse = 1, kResponseDescription = 1;
constexpr int kAnyYaml = 2;
}  // namespace field

// A protobuf message under construction: length-delimited fields (strings, messages) and varints (bools).
class Message {
 public:
  Message& string(int number, const std::string& value) {
    key(number, 2);
    varint(value.size());
    out_ += value;
    return *this;
  }
  Message& message(int number, const Message& value) { return string(number, value.out_); }
  Message& boolean(int number, bool value) {
    if (!value) return *this;  // proto3 leaves defaults out
    key(number, 0);
    varint(1);
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  void key(int number, int wire_type) { varint(static_cast<uint64_t>(number) << 3 | static_cast<uint64_t>(wire_type)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  std::string out_;
};

[[noreturn]] void unsupported(const std::string& what) {
  throw std::invalid_argument("openapi v2 protobuf encoding does not cover " + what);
}

// What gnostic keeps of an x- extension: its value as YAML text. Strings and flat maps of strings suffice.
std::string yaml_of(const json& value) {
  auto scalar = [](const json& s) {
    if (!s.is_string()) unsupported("non-string extension values");
    const std::string& text = s.get_ref<const std::string&>();
    return text.empty() ? std::string("\"\"") : text;
  };
  if (value.is_string()) return scalar(value) + "\n";
  if (!value.is_object()) unsupported("extension values other than strings and maps");
  std::string out;
  for (const auto& [k, v] : value.items()) out += k + ": " + scalar(v) + "\n";
  return out;
}

Message parameter(const json& p) {
  const std::string in = p.value("in", "");
  Message wrapped;
  if (in == "body") {
    Message schema, type;
    type.string(field::kTypeItemValue, p.at("schema").value("type", "object"));
    schema.message(field::kSchemaType, type);
    Message body;
    body.string(field::kBodyDescription, p.value("description", ""))
        .string(field::kBodyName, p.value("name", ""))
        .string(field::kBodyIn, in)
        .boolean(field::kBodyRequired, p.value("required", false))
        .message(field::kBodySchema, schema);
    wrapped.message(field::kParameterBody, body);
  } else if (in == "query" || in == "path") {
    bool query = in == "query";
    Message sub;
    sub.boolean(field::kSubRequired, p.value("required", false))
        .string(field::kSubIn, in)
        .string(field::kSubDescription, p.value("description", ""))
        .string(field::kSubName, p.value("name", ""))
        .string(query ? field::kQueryType : field::kPathType, p.value("type", ""))
        .boolean(query ? field::kQueryUniqueItems : field::kPathUniqueItems, p.value("uniqueItems", false));
    Message non_body;
    non_body.message(query ? field::kNonBodyQuery : field::kNonBodyPath, sub);
    wrapped.message(field::kParameterNonBody, non_body);
  } else {
    unsupported("parameters in " + in);
  }
  Message item;
  item.message(field::kParametersItemParameter, wrapped);
  return item;
}

Message operation(const json& op) {
  Message m;
  for (const auto& [key, value] : op.items()) {
    if (key == "operationId") {
      m.string(field::kOperationOperationId, value.get<std::string>());
    } else if (key == "produces" || key == "consumes") {
      for (const auto& type : value)
        m.string(key == "produces" ? field::kOperationProduces : field::kOperationConsumes, type.get<std::string>());
    } else if (key == "parameters") {
      for (const auto& p : value) m.message(field::kOperationParameters, parameter(p));
    } else if (key == "responses") {
      Message responses;
      for (const auto& [code, response] : value.items()) {
        Message r, value_message, named;
        r.string(field::kResponseDescription, response.value("description", ""));
        value_message.message(field::kResponseValueResponse, r);
        named.string(field::kNamedName, code).message(field::kNamedValue, value_message);
        responses.message(field::kResponsesResponseCode, named);
      }
      m.message(field::kOperationResponses, responses);
    } else if (key.starts_with("x-")) {
      Message any, named;
      any.string(field::kAnyYaml, yaml_of(value));
      named.string(field::kNamedName, key).message(field::kNamedValue, any);
      m.message(field::kOperationVendorExtension, named);
    } else {
      unsupported("operation field " + key);
    }
  }
  return m;
}

}  // namespace

std::string openapi_v2_protobuf(const json& swagger) {
  Message info;
  info.string(field::kInfoTitle, swagger.at("info").value("title", ""))
      .string(field::kInfoVersion, swagger.at("info").value("version", ""));
  Message paths;
  for (const auto& [path, item] : swagger.at("paths").items()) {
    Message path_item;
    for (const auto& [key, value] : item.items()) {
      if (key == "patch") path_item.message(field::kPathItemPatch, operation(value));
      else if (key == "parameters")
        for (const auto& p : value) path_item.message(field::kPathItemParameters, parameter(p));
      else unsupported("path item field " + key);
    }
    Message named;
    named.string(field::kNamedName, path).message(field::kNamedValue, path_item);
    paths.message(field::kPathsPath, named);
  }
  if (!swagger.value("definitions", json::object()).empty()) unsupported("definitions");
  Message document;
  document.string(field::kDocumentSwagger, swagger.at("swagger").get<std::string>())
      .message(field::kDocumentInfo, info)
      .message(field::kDocumentPaths, paths)
      .message(field::kDocumentDefinitions, Message());
  return document.bytes();
}

}  // namespace kubelite
