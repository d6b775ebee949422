#pragma once
// Which refused writes a restore sends again: the server was unavailable, overloaded or the connection failed.
// Whether the first one was applied does not matter: a create sent again meets itself (409) and the engine
// recognises its own object by the restore-name label; a patch that sets values changes nothing more.
#include "kube/errors.h"

namespace arca::restore {

inline constexpr int kCreateAttempts = 4;

inline bool may_succeed_again(const kube::KubeError& e) {
  switch (e.kind()) {
    case kube::ErrorKind::InternalError:
    case kube::ErrorKind::ServerTimeout:
    case kube::ErrorKind::ServiceUnavailable:
    case kube::ErrorKind::Timeout:
    case kube::ErrorKind::TooManyRequests:
    case kube::ErrorKind::Connection:
      return true;
    case kube::ErrorKind::UnknownServerError:
      return e.http_code() >= 500 && e.http_code() != 501;
    default:
      return false;
  }
}

}  // namespace arca::restore
