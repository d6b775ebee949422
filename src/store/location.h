#pragma once
// Opening a store from a BackupStorageLocation-like description, with the config keys Velero's providers use.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "store/object_store.h"

namespace arca::store {

struct LocationConfig {
  // "local", "aws" / "velero.io/aws", "azure" / "velero.io/azure".
  std::string provider;
  std::string bucket;  // S3 bucket, Azure container, or directory under config["root"] for local
  // spec.config. aws: region, s3Url, publicUrl, s3ForcePathStyle, insecureSkipTLSVerify, caCert, profile,
  // serverSideEncryption, kmsKeyId, storageClass, checksumAlgorithm.
  // azure: storageAccount, storageAccountURI, storageAccountKeyEnvVar, resourceGroup, subscriptionId,
  // blockSizeInBytes, insecureSkipTLSVerify, caCert. local: root.
  std::map<std::string, std::string> config;
  // The BSL credential (Velero's cloud-credentials secret, as a file). aws: shared-credentials INI with
  // profiles; azure: KEY=VALUE lines (AZURE_STORAGE_ACCOUNT_ACCESS_KEY, AZURE_STORAGE_SAS_TOKEN, ...).
  std::string credentials_file;
  // Credential values handed over directly, looked up before credentials_file and the environment (`arca repo`
  // passes restic's AZURE_ACCOUNT_SAS here as AZURE_STORAGE_SAS_TOKEN).
  std::map<std::string, std::string> credentials = {};
};

// Throws StoreError(InvalidArgument) for an unknown provider, unknown config keys or unusable credentials.
// Nothing is contacted here: the first operation reports an unreachable endpoint or a missing bucket.
std::unique_ptr<ObjectStore> open_store(const LocationConfig& location);

// BSL config objectLockRetention: a Go duration ("720h") or whole days ("30d", or a bare "30" as S3's
// DefaultRetention Days counts them). Throws StoreError(InvalidArgument) naming the value when it is neither or
// is not positive.
std::chrono::seconds parse_lock_retention(const std::string& text);

}  // namespace arca::store
