#pragma once
// The one door to object storage. Backup, restore and the bucket layout talk only to this interface, so a
// driver (local directory, S3, Azure Blob) or a fault-injecting wrapper can sit behind it unseen.
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace arca::store {

// What went wrong, so callers can decide (a missing object is often fine; a wrong key never is).
enum class ErrorKind {
  NotFound,         // the object does not exist
  NoSuchBucket,     // the bucket / container does not exist
  AccessDenied,     // credentials rejected or not allowed
  Unreachable,      // DNS, connect, TLS or timeout: the endpoint could not be talked to
  InvalidArgument,  // a bad key, config value or credentials file
  Unsupported,      // the driver cannot do this (e.g. signed URLs on the local driver)
  AlreadyExists,    // refusing to overwrite (e.g. a backup of that name is already stored)
  Failed,           // anything else the server or file system reported
};
const char* to_string(ErrorKind kind);

// Messages are one line naming the bucket/key and the cause; they never contain credentials.
class StoreError : public std::runtime_error {
 public:
  StoreError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// A refusal to delete because the object is locked (S3 Object Lock's "Access Denied because object protected by
// object lock", the local driver's immutable mode): it will pass once the retention ends, unlike a missing
// permission.
bool is_object_lock_refusal(const StoreError& error);

// Pull-style source: fills up to `capacity` bytes and returns how many; 0 means the end.
using Reader = std::function<size_t(char* buffer, size_t capacity)>;
// Push-style sink for downloads.
using Writer = std::function<void(const char* data, size_t size)>;

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  std::string last_modified;  // as the server reports it (RFC 1123 / ISO 8601)
};

struct HeadResult {
  bool exists = false;
  uint64_t size = 0;
  std::string etag;
};

struct ListRequest {
  std::string prefix;
  std::string delimiter;     // "/" groups keys into common prefixes ("directories")
  std::string continuation;  // next_continuation of the previous page; empty for the first
  int max_keys = 1000;
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  std::string next_continuation;  // empty when this is the last page
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Stores the bytes `body` yields under `key`, replacing any existing object. Memory stays bounded whatever
  // the size; on failure nothing is left under `key` that was not there before.
  virtual void put(const std::string& key, const Reader& body) = 0;
  // Streams the object to `sink`; throws NotFound when it does not exist.
  virtual void get(const std::string& key, const Writer& sink) = 0;
  // Streams bytes [offset, offset + length) of the object (a blob in a restic pack). Default: the whole object
  // streamed and cut; drivers that can read a range (local files, S3's Range header) do so.
  virtual void get_range(const std::string& key, uint64_t offset, uint64_t length, const Writer& sink);
  virtual HeadResult head(const std::string& key) = 0;
  virtual ListPage list(const ListRequest& request) = 0;
  // Deleting a missing object is not an error (as in S3).
  virtual void remove(const std::string& key) = 0;
  // A URL anyone can GET for `ttl` (S3 presigned URL, Azure SAS URL); Unsupported where there is none.
  virtual std::string signed_get_url(const std::string& key, std::chrono::seconds ttl) = 0;
  // Removes what uploads interrupted by a killed process left under `prefix` that no listing shows (the local
  // driver's temporary files of processes that are gone; never another live process's). Default: nothing.
  virtual void remove_abandoned_uploads(const std::string& prefix) { (void)prefix; }
  // "s3://bucket", "azure://account/container", "local:///dir/bucket": for messages.
  virtual std::string describe() const = 0;
};

// Conveniences over the interface.
// Yields `text`, then the end. No copy is made: `text` must outlive the reader.
Reader string_reader(std::string_view text);
void put_string(ObjectStore& store, const std::string& key, const std::string& data);
void put_stream(ObjectStore& store, const std::string& key, std::istream& in);
void put_file(ObjectStore& store, const std::string& key, const std::string& path);
std::string get_string(ObjectStore& store, const std::string& key);
void get_stream(ObjectStore& store, const std::string& key, std::ostream& out);
// Every page of a listing, concatenated.
ListPage list_all(ObjectStore& store, const std::string& prefix, const std::string& delimiter = "");

}  // namespace arca::store
