// Drives the aws driver through every kind of request it makes, for sigv4_botocore_test.py, which records
// the requests on their way to s3rver and recomputes each signature with botocore.
// Usage: sigv4_client S3URL VHOST_S3URL CREDENTIALS_FILE KEY... ; prints a presigned URL and the listed count.
// VHOST_S3URL is used with virtual-hosted addressing (bucket in the host name).
#include <algorithm>
#include <cstring>
#include <iostream>

#include "store/location.h"

int main(int argc, char** argv) {
  using namespace arca::store;
  if (argc < 6) {
    std::cerr << "usage: sigv4_client S3URL VHOST_S3URL CREDENTIALS_FILE KEY KEY...\n";
    return 2;
  }
  try {
    LocationConfig location{"aws",
                            "arca",
                            {{"region", "us-west-2"},
                             {"s3Url", argv[1]},
                             {"s3ForcePathStyle", "true"},
                             {"serverSideEncryption", "AES256"},
                             {"storageClass", "STANDARD_IA"}},
                            argv[3]};
    auto store = open_store(location);
    for (int i = 4; i < argc; ++i) {
      put_string(*store, argv[i], std::string("content of ") + argv[i]);
      store->head(argv[i]);
      get_string(*store, argv[i]);
    }
    // Paging with a prefix and continuation tokens (two keys per page).
    ListRequest request{"sig/", "", "", 2};
    size_t listed = 0;
    do {
      ListPage page = store->list(request);
      listed += page.objects.size();
      request.continuation = page.next_continuation;
    } while (!request.continuation.empty());
    list_all(*store, "sig/", "/");
    // Multipart: create, two parts, complete.
    put_string(*store, "sig/multi part+1.bin", std::string((8 << 20) + 1000, 'x'));
    // Integrity checksums (Velero's checksumAlgorithm) travel as signed x-amz-checksum-* headers.
    location.config["checksumAlgorithm"] = "CRC32";
    auto checksummed = open_store(location);
    put_string(*checksummed, "sig/crc/small.json", "{\"checksummed\":true}");
    put_string(*checksummed, "sig/crc/multi.bin", std::string((8 << 20) + 10, 'c'));
    // S3 Object Lock: the lock headers on the single PUT and on CreateMultipartUpload, Content-MD5 on the PUT
    // and on every part.
    location.config.erase("checksumAlgorithm");
    location.config["objectLockMode"] = "COMPLIANCE";
    location.config["objectLockRetention"] = "30d";
    auto locked = open_store(location);
    put_string(*locked, "sig/lock/small.json", "{\"locked\":true}");
    put_string(*locked, "sig/lock/multi.bin", std::string((8 << 20) + 20, 'l'));
    // Virtual-hosted addressing: the bucket moves into the Host header, which is signed.
    LocationConfig vhost{"aws", "arca", {{"region", "us-west-2"}, {"s3Url", argv[2]}}, argv[3]};
    auto vhost_store = open_store(vhost);
    put_string(*vhost_store, "sig/vhost key.json", "virtual");
    if (get_string(*vhost_store, "sig/vhost key.json") != "virtual") return 1;
    list_all(*vhost_store, "sig/vhost");
    // A multipart upload whose body breaks after its first part is aborted (AbortMultipartUpload).
    size_t produced = 0;
    Reader breaking = [&](char* out, size_t capacity) -> size_t {
      if (produced >= (9u << 20)) throw StoreError(ErrorKind::Failed, "the body broke");
      size_t n = std::min<size_t>(capacity, 1 << 20);
      std::memset(out, 'b', n);
      produced += n;
      return n;
    };
    try {
      store->put("sig/broken upload.bin", breaking);
      std::cerr << "a put whose body broke succeeded\n";
      return 1;
    } catch (const StoreError&) {
    }
    // Start-up cleaning: ListMultipartUploads (the test's proxy answers it, two pages) and AbortMultipartUpload.
    store->remove_abandoned_uploads("sig/backups/");
    store->remove(argv[4]);
    std::cout << store->signed_get_url(argv[5], std::chrono::seconds(900)) << "\n" << listed << "\n";
  } catch (const StoreError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
