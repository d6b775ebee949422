#pragma once
// The `local` driver: a bucket is a directory under `root`, a key a relative path inside it.
#include <chrono>
#include <memory>
#include <string>

#include "store/object_store.h"

namespace arca::store {

// `root/bucket` must exist when used (otherwise NoSuchBucket), like a bucket that was never created.
// `lock_retention` > 0 is the immutable mode (an object-locked bucket, as with S3 Object Lock): an object is
// written once and cannot be deleted until it is `lock_retention` old. Refused overwrites and early deletes
// fail with AccessDenied and are counted, one line each, in `root/bucket.lock-violations`, so that a test can
// check that a full cycle of arca never tries either.
std::unique_ptr<ObjectStore> open_local_store(const std::string& root, const std::string& bucket,
                                              std::chrono::seconds lock_retention = std::chrono::seconds(0));

}  // namespace arca::store
