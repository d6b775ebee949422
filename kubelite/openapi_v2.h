#pragma once
// /openapi/v2 as client-go reads it: the gnostic openapi_v2.Document protobuf encoding
// (Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf). client-go decodes only protobuf
// there (a 406 makes it try /swagger-2.0.0.pb-v1, JSON fails to decode), and kubectl needs the document to
// validate a `kind: List` file.
#include <nlohmann/json.hpp>

#include <string>

namespace kubelite {

// The content type the real handler answers with: the Accept clients send has an '@' there, which Go's
// mime parser rejects in a response.
inline constexpr const char* kOpenApiV2Protobuf = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

// Encodes the swagger 2.0 document Registry::openapi_v2() builds: swagger, info, paths (path-level and
// operation parameters, responses, x- extensions) and definitions (which must be empty: schemas are not
// encoded). Throws std::invalid_argument for anything else, so the two forms cannot drift apart silently.
std::string openapi_v2_protobuf(const nlohmann::json& swagger);

}  // namespace kubelite
