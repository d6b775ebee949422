#pragma once
// The `local` driver: a bucket is a directory under `root`, a key a relative path inside it.
#include <memory>
#include <string>

#include "store/object_store.h"

namespace arca::store {

// `root/bucket` must exist when used (otherwise NoSuchBucket), like a bucket that was never created.
std::unique_ptr<ObjectStore> open_local_store(const std::string& root, const std::string& bucket);

}  // namespace arca::store
