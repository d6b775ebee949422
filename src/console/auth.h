#pragma once
// Who is using the console and what they may do. Sign-in takes a Kubernetes bearer token and asks the API
// server who it belongs to (a TokenReview); the token itself is then forgotten. Every read and action is
// authorized as that user by a SubjectAccessReview, so the cluster's RBAC decides, deny by default. The browser
// holds only a random session id (an HttpOnly, SameSite=Strict cookie) and a CSRF token it must echo on writes.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kube/discovery.h"

namespace arca::kube {
class Transport;
}

namespace arca::console {

struct Session {
  std::string id, csrf;
  std::string username, uid;
  std::vector<std::string> groups;
  std::chrono::steady_clock::time_point expires;
};

// One access check: verb on a velero.io resource (one object when `name` is set) in the server's namespace.
struct Access {
  std::string verb, resource, name;
};

class Authenticator {
 public:
  // `ttl`: how long a session lasts; `decision_ttl`: how long an answered SubjectAccessReview is reused, so a
  // page of requests costs one review per kind rather than one per request.
  Authenticator(kube::Transport& transport, kube::Discovery& discovery, std::string ns,
                std::chrono::seconds ttl = std::chrono::hours(8),
                std::chrono::milliseconds decision_ttl = std::chrono::seconds(5));

  // TokenReview of `token`; a new session, or nullopt when the API server does not know the token.
  // Throws kube::KubeError when the API server cannot be asked.
  std::optional<Session> sign_in(const std::string& token);
  std::optional<Session> find(const std::string& session_id);
  void sign_out(const std::string& session_id);
  // A SubjectAccessReview as the session's user (cached briefly); throws kube::KubeError when unanswerable.
  bool allowed(const Session& session, const Access& access);
  // "forbidden: user "x" cannot create backups.velero.io in namespace "velero"".
  std::string forbidden_message(const Session& session, const Access& access) const;

 private:
  kube::Transport& transport_;
  kube::ApiResource token_reviews_, access_reviews_;
  std::string namespace_;
  std::chrono::seconds ttl_;
  std::chrono::milliseconds decision_ttl_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, std::pair<bool, std::chrono::steady_clock::time_point>> decisions_;  // session|verb|resource|name
};

// Hex of `bytes` random bytes from OpenSSL's CSPRNG.
std::string random_hex(size_t bytes);
// Compares in time independent of where the strings differ (CSRF tokens).
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace arca::console
