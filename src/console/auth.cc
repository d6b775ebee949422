#include "console/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "kube/dynamic.h"

namespace arca::console {

using json = nlohmann::json;

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), int(bytes)) != 1)
    throw std::runtime_error("no random bytes available");
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Authenticator::Authenticator(kube::Transport& transport, kube::Discovery& discovery, std::string ns,
                             std::chrono::seconds ttl, std::chrono::milliseconds decision_ttl)
    : transport_(transport),
      token_reviews_(discovery.lookup("authentication.k8s.io", "v1", "tokenreviews")),
      access_reviews_(discovery.lookup("authorization.k8s.io", "v1", "subjectaccessreviews")),
      namespace_(std::move(ns)),
      ttl_(ttl),
      decision_ttl_(decision_ttl) {}

std::optional<Session> Authenticator::sign_in(const std::string& token) {
  if (token.empty() || token.size() > 16384) return std::nullopt;
  json review = {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenReview"}, {"spec", {{"token", token}}}};
  json answer = kube::DynamicClient(transport_).create(token_reviews_, "", review);
  if (!answer.value("/status/authenticated"_json_pointer, false)) return std::nullopt;
  Session s;
  s.username = answer.value("/status/user/username"_json_pointer, std::string());
  s.uid = answer.value("/status/user/uid"_json_pointer, std::string());
  for (const auto& g : answer.value("/status/user/groups"_json_pointer, json::array()))
    if (g.is_string()) s.groups.push_back(g.get<std::string>());
  if (s.username.empty()) return std::nullopt;
  s.id = random_hex(32);
  s.csrf = random_hex(32);
  s.expires = std::chrono::steady_clock::now() + ttl_;
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires < now; });
  sessions_[s.id] = s;
  return s;
}

std::optional<Session> Authenticator::find(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires < std::chrono::steady_clock::now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void Authenticator::sign_out(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session_id);
  std::erase_if(decisions_, [&](const auto& entry) { return entry.first.starts_with(session_id + "|"); });
}

bool Authenticator::allowed(const Session& session, const Access& access) {
  std::string key = session.id + "|" + access.verb + "|" + access.resource + "|" + access.name;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto it = decisions_.find(key);
    if (it != decisions_.end() && it->second.second > now) return it->second.first;
  }
  json attributes = {{"namespace", namespace_}, {"verb", access.verb}, {"group", "velero.io"},
                     {"version", "v1"}, {"resource", access.resource}};
  if (!access.name.empty()) attributes["name"] = access.name;
  json review = {{"apiVersion", "authorization.k8s.io/v1"},
                 {"kind", "SubjectAccessReview"},
                 {"spec", {{"user", session.username}, {"groups", session.groups}, {"resourceAttributes", attributes}}}};
  if (!session.uid.empty()) review["spec"]["uid"] = session.uid;
  json answer = kube::DynamicClient(transport_).create(access_reviews_, "", review);
  bool allowed = answer.value("/status/allowed"_json_pointer, false) && !answer.value("/status/denied"_json_pointer, false);
  std::lock_guard lock(mutex_);
  if (decisions_.size() > 10000)  // answers of sessions long gone
    std::erase_if(decisions_, [&](const auto& entry) { return entry.second.second < now; });
  decisions_[key] = {allowed, now + decision_ttl_};
  return allowed;
}

std::string Authenticator::forbidden_message(const Session& session, const Access& access) const {
  return "forbidden: user \"" + session.username + "\" cannot " + access.verb + " " + access.resource +
         ".velero.io" + (access.name.empty() ? "" : " \"" + access.name + "\"") + " in namespace \"" + namespace_ + "\"";
}

}  // namespace arca::console
