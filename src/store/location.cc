#include "store/location.h"

#include <algorithm>

#include "store/azure_store.h"
#include "store/local_store.h"
#include "store/s3_store.h"
#include "util/duration.h"

namespace arca::store {

std::unique_ptr<ObjectStore> open_store(const LocationConfig& location) {
  // Velero trims slashes from the bucket; a '/' inside it is an error (ARNs aside, which arca does not use).
  LocationConfig l = location;
  while (!l.bucket.empty() && l.bucket.front() == '/') l.bucket.erase(0, 1);
  while (!l.bucket.empty() && l.bucket.back() == '/') l.bucket.pop_back();
  if (l.bucket.empty()) throw StoreError(ErrorKind::InvalidArgument, "objectStorage.bucket is required");
  if (l.bucket.find('/') != std::string::npos)
    throw StoreError(ErrorKind::InvalidArgument, "bucket \"" + l.bucket + "\" must not contain '/' (use the prefix)");
  const std::string& p = l.provider;
  if (p == "aws" || p == "velero.io/aws") return open_s3_store(l);
  if (p == "azure" || p == "velero.io/azure") return open_azure_store(l);
  if (p == "local") {
    for (const auto& [key, value] : l.config)
      if (key != "root" && key != "bucket" && key != "prefix" && key != "objectLockRetention" &&
          key != "objectLockMode")
        throw StoreError(ErrorKind::InvalidArgument, "local: unknown config key: " + key);
    auto root = l.config.find("root");
    std::chrono::seconds lock{0};
    if (auto retention = l.config.find("objectLockRetention"); retention != l.config.end())
      lock = parse_lock_retention(retention->second);
    return open_local_store(root == l.config.end() ? "" : root->second, l.bucket, lock);
  }
  throw StoreError(ErrorKind::InvalidArgument,
                   "unknown provider \"" + p + "\" (expected local, aws, velero.io/aws, azure or velero.io/azure)");
}

std::chrono::seconds parse_lock_retention(const std::string& text) {
  auto bad = [&] {
    return StoreError(ErrorKind::InvalidArgument, "config \"objectLockRetention\" \"" + text +
                                                      "\" is not a duration (e.g. 720h) or a number of days (e.g. 30d)");
  };
  std::string days = text;
  if (!days.empty() && days.back() == 'd') days.pop_back();
  if (!days.empty() && days.size() <= 6 && std::all_of(days.begin(), days.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::chrono::seconds d = std::chrono::hours(24) * std::stoi(days);
    if (d.count() <= 0) throw bad();
    return d;
  }
  try {
    auto d = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(text));
    if (d.count() <= 0) throw bad();
    return d;
  } catch (const InvalidDuration&) {
    throw bad();
  }
}

}  // namespace arca::store
