// Status answers become typed errors with kubectl's one-line messages.
#include "kube/errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace arca::kube {
namespace {

TEST(StatusError, NotFoundNamesTheResource) {
  KubeError e = status_error(
      404,
      R"j({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404})j",
      "get deployments.apps \"web\"");
  EXPECT_TRUE(is_not_found(e));
  EXPECT_EQ(e.http_code(), 404);
  EXPECT_STREQ(e.what(), "Error from server (NotFound): deployments.apps \"web\" not found");
}

TEST(StatusError, InvalidKeepsItsCauses) {
  KubeError e = status_error(
      422,
      R"j({"kind":"Status","status":"Failure","message":"Deployment.apps \"web\" is invalid: spec.selector: Invalid value: x: field is immutable","reason":"Invalid","details":{"kind":"Deployment","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: x: field is immutable","field":"spec.selector"}]},"code":422})j",
      "update");
  EXPECT_TRUE(is_invalid(e));
  ASSERT_EQ(e.causes().size(), 1u);
  EXPECT_EQ(e.causes()[0].field, "spec.selector");
  EXPECT_EQ(e.causes()[0].reason, "FieldValueInvalid");
}

TEST(StatusError, ReasonWinsOverCodeAndExpiredIsGone) {
  KubeError expired = status_error(
      410, R"j({"kind":"Status","status":"Failure","message":"The provided continue parameter is too old","reason":"Expired","code":410})j",
      "list");
  EXPECT_TRUE(is_gone(expired));
  KubeError exists = status_error(409, R"j({"kind":"Status","reason":"AlreadyExists","message":"configmaps \"cm\" already exists","code":409})j", "create");
  EXPECT_TRUE(is_already_exists(exists));
  EXPECT_FALSE(is_conflict(exists));
  KubeError conflict = status_error(409, R"j({"kind":"Status","reason":"Conflict","message":"Operation cannot be fulfilled","code":409})j", "update");
  EXPECT_TRUE(is_conflict(conflict));
  KubeError throttled = status_error(429, R"j({"kind":"Status","reason":"TooManyRequests","message":"Too many requests","details":{"retryAfterSeconds":3},"code":429})j", "get");
  EXPECT_TRUE(is_too_many_requests(throttled));
  EXPECT_EQ(throttled.retry_after_seconds(), 3);
}

TEST(StatusError, UnauthorizedReadsLikeKubectl) {
  KubeError e = status_error(401, R"j({"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})j", "get");
  EXPECT_TRUE(is_unauthorized(e));
  EXPECT_STREQ(e.what(), "error: You must be logged in to the server (Unauthorized)");
}

TEST(StatusError, ForbiddenAndEmptyReason) {
  KubeError forbidden = status_error(
      403,
      R"j({"kind":"Status","reason":"Forbidden","message":"configmaps \"x\" is forbidden: unable to create new content in namespace t because it is being terminated","details":{"causes":[{"reason":"NamespaceTerminating","message":"namespace t is being terminated","field":"metadata.namespace"}]},"code":403})j",
      "create");
  EXPECT_TRUE(is_forbidden(forbidden));
  EXPECT_EQ(forbidden.causes().at(0).reason, "NamespaceTerminating");
  // A create with metadata.resourceVersion: a 500 without a reason (as kube-apiserver answers).
  KubeError internal = status_error(500, R"j({"kind":"Status","status":"Failure","message":"resourceVersion should not be set on objects to be created","code":500})j", "create");
  EXPECT_EQ(internal.kind(), ErrorKind::InternalError);
  EXPECT_STREQ(internal.what(), "Error from server: resourceVersion should not be set on objects to be created");
}

TEST(StatusError, NonStatusBodiesAreClassifiedByCode) {
  // A real server's fallback handler answers unknown groups with text/plain.
  KubeError e = status_error(404, "404 page not found", "GET /apis/no.such/v1/things");
  EXPECT_TRUE(is_not_found(e));
  EXPECT_STREQ(e.what(),
               "Error from server: the server could not find the requested resource (GET /apis/no.such/v1/things)");
  KubeError html = status_error(502, "<html>\n<body>Bad Gateway</body>\n</html>", "GET /api");
  EXPECT_EQ(std::string(html.what()).find('\n'), std::string::npos);
  EXPECT_EQ(html.kind(), ErrorKind::UnknownServerError);
}

TEST(StatusError, WatchErrorEvent) {
  auto status = nlohmann::json::parse(
      R"j({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 123 (456)","reason":"Expired","code":410})j");
  KubeError e = watch_error(status);
  EXPECT_TRUE(is_gone(e));
  EXPECT_EQ(e.server_message(), "too old resource version: 123 (456)");
}

TEST(ClientErrors, ConnectionAndConfigLines) {
  EXPECT_STREQ(connection_error("Failed to connect to 127.0.0.1 port 1").what(),
               "Unable to connect to the server: Failed to connect to 127.0.0.1 port 1");
  EXPECT_TRUE(is_connection_error(tls_error("x")));
  EXPECT_STREQ(config_error("context \"x\" does not exist").what(), "error: context \"x\" does not exist");
}

}  // namespace
}  // namespace arca::kube
