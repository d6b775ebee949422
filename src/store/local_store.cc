#include "store/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "util/leftovers.h"

namespace fs = std::filesystem;

namespace arca::store {
namespace {

// Temporary files live beside their target (so rename is atomic) and are never listed.
constexpr std::string_view kTempPrefix = ".arca-tmp-";

class LocalStore : public ObjectStore {
 public:
  LocalStore(std::string root, std::string bucket, std::chrono::seconds lock)
      : dir_(fs::path(root) / bucket), bucket_(std::move(bucket)), lock_(lock) {}

  void put(const std::string& key, const Reader& body) override {
    fs::path target = path_of(key);
    require_bucket();
    if (lock_.count() > 0 && ::access(target.c_str(), F_OK) == 0) {
      record_violation("overwrite", key);
      throw StoreError(ErrorKind::AccessDenied,
                       describe() + "/" + key + ": the object is locked (written once) and cannot be overwritten");
    }
    static std::atomic<unsigned> counter{0};
    fs::path temp =
        target.parent_path() / (std::string(kTempPrefix) + std::to_string(getpid()) + "-" + std::to_string(counter++));
    int fd = -1;
    // Another writer's remove() takes an emptied directory away (as object storage has no empty "directories"):
    // between creating it and the temporary file it may be gone again (two node agents' lock files in locks/).
    for (int attempt = 0; fd < 0; ++attempt) {
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      if (ec && (ec != std::errc::no_such_file_or_directory || attempt >= 100))
        fail(key, "cannot create directory: " + ec.message());
      if (ec) continue;
      fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0 && (errno != ENOENT || attempt >= 100))
        fail(key, std::string("cannot create temporary file: ") + std::strerror(errno));
    }
    try {
      std::vector<char> buffer(1 << 20);
      while (size_t n = body(buffer.data(), buffer.size())) {
        for (size_t done = 0; done < n;) {
          ssize_t w = ::write(fd, buffer.data() + done, n - done);
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) fail(key, std::string("write failed: ") + std::strerror(errno));
          done += static_cast<size_t>(w);
        }
      }
      // fsync before rename: after a crash the key holds either the old or the complete new content.
      if (::fsync(fd) != 0) fail(key, std::string("fsync failed: ") + std::strerror(errno));
    } catch (...) {
      ::close(fd);
      ::unlink(temp.c_str());
      throw;
    }
    ::close(fd);
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      int err = errno;
      ::unlink(temp.c_str());
      fail(key, std::string("rename failed: ") + std::strerror(err));
    }
    int dirfd = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd >= 0) {
      ::fsync(dirfd);
      ::close(dirfd);
    }
  }

  void get_range(const std::string& key, uint64_t offset, uint64_t length, const Writer& sink) override {
    fs::path path = path_of(key);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      require_bucket();
      if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) throw not_found(key);
      fail(key, std::string("cannot open: ") + std::strerror(errno));
    }
    std::vector<char> buffer(std::min<uint64_t>(length, 1 << 20));
    try {
      for (uint64_t done = 0; done < length;) {
        ssize_t n = ::pread(fd, buffer.data(), std::min<uint64_t>(buffer.size(), length - done),
                            static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(key, std::string("read failed: ") + std::strerror(errno));
        if (n == 0) break;  // short: the caller sees fewer bytes than it asked for
        sink(buffer.data(), static_cast<size_t>(n));
        done += static_cast<uint64_t>(n);
      }
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }

  void get(const std::string& key, const Writer& sink) override {
    fs::path path = path_of(key);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      require_bucket();
      if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) throw not_found(key);
      fail(key, std::string("cannot open: ") + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw not_found(key);
    }
    std::vector<char> buffer(1 << 20);
    try {
      for (;;) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(key, std::string("read failed: ") + std::strerror(errno));
        if (n == 0) break;
        sink(buffer.data(), static_cast<size_t>(n));
      }
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }

  HeadResult head(const std::string& key) override {
    fs::path path = path_of(key);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      require_bucket();
      return {};
    }
    return {true, static_cast<uint64_t>(st.st_size), etag_of(st)};
  }

  ListPage list(const ListRequest& request) override {
    require_bucket();
    if (!request.prefix.empty() && request.prefix.find('\0') != std::string::npos)
      throw StoreError(ErrorKind::InvalidArgument, describe() + ": invalid list prefix");
    // Walk only the directory the prefix names (its part up to the last '/'), like an index range scan.
    std::string dir_part = request.prefix.substr(0, request.prefix.rfind('/') + 1);
    if (dir_part.find("..") != std::string::npos) return {};
    std::vector<std::pair<std::string, struct stat>> keys;
    fs::path start = dir_ / dir_part;
    std::error_code ec;
    if (fs::is_directory(start, ec)) {
      for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        if (it->path().filename().string().rfind(kTempPrefix, 0) == 0) continue;
        std::string key = fs::relative(it->path(), dir_).generic_string();
        if (key.rfind(request.prefix, 0) != 0) continue;
        struct stat st {};
        if (::stat(it->path().c_str(), &st) == 0) keys.emplace_back(key, st);
      }
      if (ec) fail(request.prefix, "listing failed: " + ec.message());
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    // Continuation is the last key or common prefix handed out: the next page starts after it.
    ListPage page;
    int count = 0;
    std::string last;
    for (const auto& [key, st] : keys) {
      std::string entry = key;
      bool is_prefix = false;
      if (!request.delimiter.empty()) {
        auto d = key.find(request.delimiter, request.prefix.size());
        if (d != std::string::npos) {
          entry = key.substr(0, d + request.delimiter.size());
          is_prefix = true;
        }
      }
      if (!request.continuation.empty() && entry <= request.continuation) continue;
      if (is_prefix && !page.common_prefixes.empty() && page.common_prefixes.back() == entry) continue;
      if (count == request.max_keys) {
        page.next_continuation = last;
        break;
      }
      if (is_prefix) {
        page.common_prefixes.push_back(entry);
      } else {
        page.objects.push_back({key, static_cast<uint64_t>(st.st_size), etag_of(st), modified_of(st)});
      }
      last = entry;
      ++count;
    }
    return page;
  }

  void remove(const std::string& key) override {
    fs::path path = path_of(key);
    require_bucket();
    struct stat st {};
    if (lock_.count() > 0 && ::stat(path.c_str(), &st) == 0) {
      auto written = std::chrono::system_clock::from_time_t(st.st_mtime);
      if (std::chrono::system_clock::now() < written + lock_) {
        record_violation("early-delete", key);
        throw StoreError(ErrorKind::AccessDenied,
                         describe() + "/" + key + ": the object is locked for " + std::to_string(lock_.count()) +
                             " s after it was written and cannot be deleted yet");
      }
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR)
      fail(key, std::string("delete failed: ") + std::strerror(errno));
    // Empty parent directories disappear, as "directories" do in object storage.
    for (fs::path p = path.parent_path(); p != dir_ && p.string().size() > dir_.string().size(); p = p.parent_path()) {
      if (::rmdir(p.c_str()) != 0) break;
    }
  }

  std::string signed_get_url(const std::string& key, std::chrono::seconds) override {
    throw StoreError(ErrorKind::Unsupported, describe() + ": the local driver has no signed URLs (key " + key + ")");
  }

  std::string describe() const override { return "local://" + dir_.string(); }

 private:
  // ISO 8601 in UTC, rounded up to the second (a lock computed from it never ends early).
  static std::string modified_of(const struct stat& st) {
    std::time_t t = st.st_mtim.tv_sec + (st.st_mtim.tv_nsec > 0 ? 1 : 0);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
  }

  void record_violation(const char* what, const std::string& key) const {
    std::string line = std::string(what) + " " + key + "\n";
    std::string path = dir_.string() + ".lock-violations";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    ::close(fd);
  }

  // Keys are relative paths made of ordinary names: nothing can point outside the bucket directory.
  fs::path path_of(const std::string& key) const {
    auto bad = [&](const char* why) {
      return StoreError(ErrorKind::InvalidArgument, describe() + ": invalid key \"" + key + "\": " + why);
    };
    if (key.empty()) throw bad("empty");
    if (key.find('\0') != std::string::npos) throw bad("contains NUL");
    if (key.front() == '/') throw bad("absolute path");
    size_t start = 0;
    while (start <= key.size()) {
      size_t end = key.find('/', start);
      if (end == std::string::npos) end = key.size();
      std::string_view part(key.data() + start, end - start);
      if (part.empty()) throw bad("empty path component");
      if (part == "." || part == "..") throw bad("'.' or '..' component");
      if (part.substr(0, kTempPrefix.size()) == kTempPrefix) throw bad("reserved name");
      start = end + 1;
    }
    return dir_ / key;
  }

  void require_bucket() const {
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw StoreError(ErrorKind::NoSuchBucket, describe() + ": bucket \"" + bucket_ + "\" does not exist");
  }

  StoreError not_found(const std::string& key) const {
    return StoreError(ErrorKind::NotFound, describe() + ": object \"" + key + "\" not found");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& cause) const {
    throw StoreError(ErrorKind::Failed, describe() + ": \"" + key + "\": " + cause);
  }

  void remove_abandoned_uploads(const std::string& prefix) override {
    std::string key = prefix;
    while (!key.empty() && key.back() == '/') key.pop_back();
    remove_abandoned((key.empty() ? dir_ : path_of(key)).string(), kTempPrefix);
  }

  static std::string etag_of(const struct stat& st) {
    return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "-" +
           std::to_string(st.st_size);
  }

  fs::path dir_;
  std::string bucket_;
  std::chrono::seconds lock_{0};
};

}  // namespace

std::unique_ptr<ObjectStore> open_local_store(const std::string& root, const std::string& bucket,
                                              std::chrono::seconds lock_retention) {
  if (root.empty()) throw StoreError(ErrorKind::InvalidArgument, "local store: config \"root\" is required");
  if (bucket.empty() || bucket.find('/') != std::string::npos || bucket == "." || bucket == "..")
    throw StoreError(ErrorKind::InvalidArgument, "local store: invalid bucket name \"" + bucket + "\"");
  return std::make_unique<LocalStore>(root, bucket, lock_retention);
}

}  // namespace arca::store
