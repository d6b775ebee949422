#include "store/object_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include <fstream>
#include <istream>
#include <ostream>

namespace arca::store {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::NotFound: return "NotFound";
    case ErrorKind::NoSuchBucket: return "NoSuchBucket";
    case ErrorKind::AccessDenied: return "AccessDenied";
    case ErrorKind::Unreachable: return "Unreachable";
    case ErrorKind::InvalidArgument: return "InvalidArgument";
    case ErrorKind::Unsupported: return "Unsupported";
    case ErrorKind::AlreadyExists: return "AlreadyExists";
    case ErrorKind::Failed: return "Failed";
  }
  return "Failed";
}

bool is_object_lock_refusal(const StoreError& error) {
  if (error.kind() != ErrorKind::AccessDenied) return false;
  std::string text = error.what();
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text.find("object lock") != std::string::npos || text.find("object is locked") != std::string::npos;
}

void ObjectStore::get_range(const std::string& key, uint64_t offset, uint64_t length, const Writer& sink) {
  uint64_t pos = 0;
  get(key, [&](const char* data, size_t size) {
    uint64_t begin = std::max(pos, offset), end = std::min(pos + size, offset + length);
    if (begin < end) sink(data + (begin - pos), static_cast<size_t>(end - begin));
    pos += size;
  });
}

Reader string_reader(std::string_view text) {
  return [text, at = size_t{0}](char* buffer, size_t capacity) mutable {
    size_t n = text.copy(buffer, capacity, at);
    at += n;
    return n;
  };
}

void put_string(ObjectStore& store, const std::string& key, const std::string& data) {
  store.put(key, string_reader(data));
}

void put_stream(ObjectStore& store, const std::string& key, std::istream& in) {
  store.put(key, [&](char* buffer, size_t capacity) {
    in.read(buffer, static_cast<std::streamsize>(capacity));
    if (in.bad()) throw StoreError(ErrorKind::Failed, "reading the data for " + key + " failed");
    return static_cast<size_t>(in.gcount());
  });
}

void put_file(ObjectStore& store, const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError(ErrorKind::InvalidArgument, "cannot open " + path + " to upload as " + key);
  put_stream(store, key, in);
}

std::string get_string(ObjectStore& store, const std::string& key) {
  // A download that broke part-way (the connection closed with bytes still to come) is not retried by the HTTP
  // layer, since part of it already reached the caller; in memory it can simply start again. The fault suite's
  // seed 404 (truncated answers) failed a restore on "GET velero-backup.json: transfer closed with 1781 bytes
  // remaining to read".
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    std::string out;
    try {
      store.get(key, [&](const char* data, size_t size) { out.append(data, size); });
      return out;
    } catch (const StoreError& e) {
      if (e.kind() != ErrorKind::Unreachable || out.empty() || attempt == kAttempts) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
  }
}

void get_stream(ObjectStore& store, const std::string& key, std::ostream& out) {
  store.get(key, [&](const char* data, size_t size) {
    out.write(data, static_cast<std::streamsize>(size));
    if (!out) throw StoreError(ErrorKind::Failed, "writing the download of " + key + " failed");
  });
}

ListPage list_all(ObjectStore& store, const std::string& prefix, const std::string& delimiter) {
  ListPage all;
  ListRequest request{prefix, delimiter, "", 1000};
  do {
    ListPage page = store.list(request);
    all.objects.insert(all.objects.end(), page.objects.begin(), page.objects.end());
    all.common_prefixes.insert(all.common_prefixes.end(), page.common_prefixes.begin(), page.common_prefixes.end());
    request.continuation = page.next_continuation;
  } while (!request.continuation.empty());
  return all;
}

}  // namespace arca::store
