#pragma once
// The `aws` driver: S3 and S3-compatible servers (MinIO, Ceph RGW, GCS interoperability, s3rver).
#include <memory>
#include <string>

#include "store/location.h"

namespace arca::store {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// Where Velero's AWS plugin looks: the BSL credentials file (shared-credentials INI) if given, else the
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN variables, else AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials. The profile is `profile` if non-empty, else AWS_PROFILE, else "default".
AwsCredentials load_aws_credentials(const std::string& credentials_file, const std::string& profile);

std::unique_ptr<ObjectStore> open_s3_store(const LocationConfig& location);

}  // namespace arca::store
