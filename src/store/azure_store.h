#pragma once
// The `azure` driver: Azure Blob Storage (and azurite) over REST, authenticated with SharedKey or a SAS token.
#include <memory>

#include "store/location.h"

namespace arca::store {

// The account key comes from the variable named by config "storageAccountKeyEnvVar" (default
// AZURE_STORAGE_ACCOUNT_ACCESS_KEY), looked up first in the credentials file (KEY=VALUE lines, as Velero's
// Azure secret holds) and then in the environment; failing that AZURE_STORAGE_SAS_TOKEN authenticates
// requests without a key (signed URLs then need the key and report Unsupported).
std::unique_ptr<ObjectStore> open_azure_store(const LocationConfig& location);

}  // namespace arca::store
