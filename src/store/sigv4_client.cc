// Drives the aws driver through every kind of request it makes, for sigv4_botocore_test.py, which records
// the requests on their way to s3rver and recomputes each signature with botocore.
// Usage: sigv4_client S3URL CREDENTIALS_FILE KEY... ; prints the presigned URL of the first key.
#include <iostream>

#include "store/location.h"

int main(int argc, char** argv) {
  using namespace arca::store;
  if (argc < 4) {
    std::cerr << "usage: sigv4_client S3URL CREDENTIALS_FILE KEY...\n";
    return 2;
  }
  try {
    LocationConfig location{"aws",
                            "arca",
                            {{"region", "us-west-2"}, {"s3Url", argv[1]}, {"s3ForcePathStyle", "true"},
                             {"serverSideEncryption", "AES256"}, {"storageClass", "STANDARD_IA"}},
                            argv[2]};
    auto store = open_store(location);
    for (int i = 3; i < argc; ++i) {
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
    store->remove(argv[3]);
    std::cout << store->signed_get_url(argv[4], std::chrono::seconds(900)) << "\n" << listed << "\n";
  } catch (const StoreError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
