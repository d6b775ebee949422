#include "repo/backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "repo/crypto.h"
#include "repo/repo_impl.h"
#include "store/location.h"
#include "store/object_store.h"

namespace arca::repo {
namespace {

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads `size` bytes at `offset` of `fd`; throws naming `what` when the file is short.
void pread_all(int fd, char* out, uint64_t offset, uint64_t size, const std::string& what) {
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(sys_error("cannot read", what));
    if (n == 0) throw std::runtime_error("cannot read " + what + ": file is shorter than expected (truncated?)");
    done += static_cast<uint64_t>(n);
  }
}

}  // namespace

TempFile Backend::create_temp() {
  const char* dir = std::getenv("TMPDIR");
  std::string base = dir && *dir ? dir : "/tmp";
  TempFile f;
  f.fd = ::open(base.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (f.fd >= 0) return f;
  // Filesystems without O_TMPFILE: a named file, unlinked at once.
  std::string templ = base + "/arca-pack-XXXXXX";
  f.fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (f.fd < 0) throw std::runtime_error(sys_error("cannot create a temporary file in", base));
  ::unlink(templ.c_str());
  return f;
}

void Backend::save_temp(const std::string& name, TempFile& file, uint64_t size) {
  std::string data(size, '\0');
  pread_all(file.fd, data.data(), 0, size, "temporary pack file");
  save(name, data);
}

void Backend::discard_temp(TempFile& file) {
  if (file.fd >= 0) ::close(file.fd);
  if (!file.path.empty()) ::unlink(file.path.c_str());
  file = TempFile{};
}

namespace {

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {}

  // Next to the packs, so that saving it is a rename; the name has ".tmp-" so listings skip it.
  TempFile create_temp() override {
    std::string dir = root_ + "/data";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    uint64_t rnd;
    random_bytes(&rnd, sizeof rnd);
    TempFile f;
    f.path = dir + "/pack.tmp-" + std::to_string(rnd);
    f.fd = ::open(f.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f.fd < 0) throw std::runtime_error(sys_error("cannot create", f.path));
    return f;
  }

  void save_temp(const std::string& name, TempFile& file, uint64_t size) override {
    std::string path = root_ + "/" + name;
    std::error_code ec;
    std::filesystem::create_directories(path.substr(0, path.rfind('/')), ec);
    if (::ftruncate(file.fd, static_cast<off_t>(size)) != 0 || ::fdatasync(file.fd) != 0 ||
        ::rename(file.path.c_str(), path.c_str()) != 0)
      throw std::runtime_error(sys_error("cannot store", path));
    file.path.clear();  // it is the pack now: discard_temp only closes it
  }

  void save(const std::string& name, std::string_view data) override {
    std::string path = root_ + "/" + name;
    std::string dir = path.substr(0, path.rfind('/'));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    uint64_t rnd;
    random_bytes(&rnd, sizeof rnd);
    std::string tmp = path + ".tmp-" + std::to_string(rnd);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(sys_error("cannot create", tmp));
    FdCloser closer(fd);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::string msg = sys_error("cannot write", tmp);
        ::unlink(tmp.c_str());
        throw std::runtime_error(msg);
      }
      done += static_cast<size_t>(n);
    }
    // Durable before it becomes visible: an index or snapshot must never name a pack a power cut lost.
    if (::fdatasync(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
      std::string msg = sys_error("cannot store", path);
      ::unlink(tmp.c_str());
      throw std::runtime_error(msg);
    }
  }

  std::string load(const std::string& name) override {
    std::string path = root_ + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(sys_error("cannot open", path));
    FdCloser closer(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) throw std::runtime_error(sys_error("cannot stat", path));
    std::string out;
    read_at(fd, path, 0, static_cast<uint64_t>(st.st_size), out);
    return out;
  }

  std::string load_range(const std::string& name, uint64_t offset, uint64_t length) override {
    std::string out;
    load_range_into(name, offset, length, out);
    return out;
  }

  void load_range_into(const std::string& name, uint64_t offset, uint64_t length, std::string& out) override {
    std::string path = root_ + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(sys_error("cannot open", path));
    FdCloser closer(fd);
    read_at(fd, path, offset, length, out);
  }

  bool exists(const std::string& name) override {
    struct stat st;
    return ::stat((root_ + "/" + name).c_str(), &st) == 0;
  }

  std::vector<FileInfo> list(const std::string& type) override {
    std::vector<FileInfo> out;
    std::string dir = root_ + "/" + type;
    auto scan = [&](const std::string& d) {
      DIR* dp = ::opendir(d.c_str());
      if (!dp) return;
      while (auto* e = ::readdir(dp)) {
        std::string n = e->d_name;
        if (n == "." || n == ".." || n.find(".tmp-") != std::string::npos) continue;
        struct stat st;
        if (::stat((d + "/" + n).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        out.push_back({n, static_cast<uint64_t>(st.st_size)});
      }
      ::closedir(dp);
    };
    if (type == "data") {
      DIR* dp = ::opendir(dir.c_str());
      if (!dp) return out;
      std::vector<std::string> subdirs;
      while (auto* e = ::readdir(dp))
        if (std::strlen(e->d_name) == 2 && e->d_name[0] != '.') subdirs.push_back(e->d_name);
      ::closedir(dp);
      for (const auto& s : subdirs) scan(dir + "/" + s);
    } else {
      scan(dir);
    }
    return out;
  }

  void remove(const std::string& name) override {
    std::string path = root_ + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw std::runtime_error(sys_error("cannot remove", path));
  }

  std::string describe() const override { return root_; }

  void create_layout() override {
    std::error_code ec;
    for (const char* d : {"keys", "locks", "snapshots", "index"}) std::filesystem::create_directories(root_ + "/" + d, ec);
    char sub[3];
    for (int i = 0; i < 256; ++i) {
      std::snprintf(sub, sizeof sub, "%02x", i);
      std::filesystem::create_directories(root_ + "/data/" + sub, ec);
    }
    if (ec) throw std::runtime_error("cannot create the repository layout in " + root_ + ": " + ec.message());
  }

 private:
  static void read_at(int fd, const std::string& path, uint64_t offset, uint64_t length, std::string& out) {
    out.resize(length);
    size_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(sys_error("cannot read", path));
      if (n == 0) throw std::runtime_error("cannot read " + path + ": file is shorter than expected (truncated?)");
      done += static_cast<size_t>(n);
    }
  }

  std::string root_;
};

class StoreBackend final : public Backend {
 public:
  StoreBackend(std::shared_ptr<store::ObjectStore> store, std::string prefix)
      : store_(std::move(store)), prefix_(std::move(prefix)) {
    if (!prefix_.empty() && prefix_.back() != '/') prefix_ += '/';
  }
  void save(const std::string& name, std::string_view data) override {
    store_->put(prefix_ + name, store::string_reader(data));
  }
  void save_temp(const std::string& name, TempFile& file, uint64_t size) override {
    uint64_t pos = 0;
    int fd = file.fd;
    store_->put(prefix_ + name, [&, fd](char* buf, size_t capacity) -> size_t {
      size_t n = static_cast<size_t>(std::min<uint64_t>(capacity, size - pos));
      pread_all(fd, buf, pos, n, "temporary pack file");
      pos += n;
      return n;
    });
  }
  std::string load(const std::string& name) override { return store::get_string(*store_, prefix_ + name); }
  std::string load_range(const std::string& name, uint64_t offset, uint64_t length) override {
    std::string out;
    out.reserve(length);
    store_->get_range(prefix_ + name, offset, length, [&](const char* data, size_t size) {
      out.append(data, std::min<uint64_t>(size, length - out.size()));
    });
    if (out.size() != length) throw std::runtime_error("cannot read " + describe() + name + ": object is shorter than expected");
    return out;
  }
  bool exists(const std::string& name) override { return store_->head(prefix_ + name).exists; }
  std::vector<FileInfo> list(const std::string& type) override {
    std::vector<FileInfo> out;
    auto page = store::list_all(*store_, prefix_ + type + "/");
    for (const auto& o : page.objects) out.push_back({o.key.substr(o.key.rfind('/') + 1), o.size});
    return out;
  }
  void remove(const std::string& name) override { store_->remove(prefix_ + name); }
  std::string describe() const override { return store_->describe() + "/" + prefix_; }

 private:
  std::shared_ptr<store::ObjectStore> store_;
  std::string prefix_;
};

}  // namespace

std::string file_name(const std::string& type, const std::string& id) {
  if (type == "data") return "data/" + id.substr(0, 2) + "/" + id;
  return type + "/" + id;
}

std::string velero_repo_prefix(const std::string& location_prefix, const std::string& volume_namespace) {
  std::string prefix = location_prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return (prefix.empty() ? "" : prefix + "/") + "restic/" + volume_namespace;
}

std::unique_ptr<Backend> local_backend(const std::string& dir) {
  std::string root = dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return std::make_unique<LocalBackend>(root);
}

std::unique_ptr<Backend> store_backend(std::shared_ptr<store::ObjectStore> store, std::string prefix) {
  return std::make_unique<StoreBackend>(std::move(store), std::move(prefix));
}

std::unique_ptr<Backend> open_location(const std::string& location) {
  if (location.empty()) throw std::invalid_argument("no repository given (-r or RESTIC_REPOSITORY)");
  if (location.rfind("local:", 0) == 0) return local_backend(location.substr(6));
  if (location.rfind("s3:", 0) == 0) {
    // restic's form: s3:[http(s)://]host[:port]/bucket[/prefix]; credentials as for an aws backup storage
    // location without a secret (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE, ...).
    std::string rest = location.substr(3), scheme = "https://";
    for (const char* s : {"http://", "https://"})
      if (rest.rfind(s, 0) == 0) scheme = s, rest = rest.substr(std::strlen(s));
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash + 1 >= rest.size())
      throw std::invalid_argument("repository \"" + location + "\": expected s3:host/bucket[/prefix]");
    std::string host = rest.substr(0, slash), path = rest.substr(slash + 1);
    auto bucket_end = path.find('/');
    std::string bucket = path.substr(0, bucket_end);
    std::string prefix = bucket_end == std::string::npos ? "" : path.substr(bucket_end + 1);
    store::LocationConfig config;
    config.provider = "aws";
    config.bucket = bucket;
    config.config = {{"s3Url", scheme + host}, {"s3ForcePathStyle", "true"}};
    if (const char* region = std::getenv("AWS_DEFAULT_REGION")) config.config["region"] = region;
    return store_backend(std::shared_ptr<store::ObjectStore>(store::open_store(config)), prefix);
  }
  if (location.rfind("azure:", 0) == 0) {
    // restic's form: azure:CONTAINER:/PATH, the account in AZURE_ACCOUNT_NAME and its key in AZURE_ACCOUNT_KEY
    // or, without a key, a SAS token in AZURE_ACCOUNT_SAS (restic's internal/backend/azure/azure.go);
    // the endpoint https://ACCOUNT.blob.core.windows.net, or .blob.$AZURE_ENDPOINT_SUFFIX (restic's), or
    // $AZURE_ACCOUNT_URI whole (arca's, for emulators such as azurite: http://127.0.0.1:10000/ACCOUNT).
    std::string rest = location.substr(6);
    auto colon = rest.find(':');
    if (colon == std::string::npos || colon == 0)
      throw std::invalid_argument("repository \"" + location + "\": expected azure:container:/path");
    std::string container = rest.substr(0, colon), prefix = rest.substr(colon + 1);
    while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
    const char* account = std::getenv("AZURE_ACCOUNT_NAME");
    if (!account || !*account)
      throw std::invalid_argument("repository \"" + location + "\": AZURE_ACCOUNT_NAME is not set");
    store::LocationConfig config;
    config.provider = "azure";
    config.bucket = container;
    config.config = {{"storageAccount", account}, {"storageAccountKeyEnvVar", "AZURE_ACCOUNT_KEY"}};
    const char* key = std::getenv("AZURE_ACCOUNT_KEY");
    const char* sas = std::getenv("AZURE_ACCOUNT_SAS");
    if (!(key && *key) && sas && *sas) config.credentials["AZURE_STORAGE_SAS_TOKEN"] = sas;
    else if (!(key && *key) && !std::getenv("AZURE_STORAGE_SAS_TOKEN"))
      throw std::invalid_argument("repository \"" + location + "\": neither AZURE_ACCOUNT_KEY nor AZURE_ACCOUNT_SAS is set");
    if (const char* uri = std::getenv("AZURE_ACCOUNT_URI"); uri && *uri) config.config["storageAccountURI"] = uri;
    else if (const char* suffix = std::getenv("AZURE_ENDPOINT_SUFFIX"); suffix && *suffix)
      config.config["storageAccountURI"] = std::string("https://") + account + ".blob." + suffix;
    return store_backend(std::shared_ptr<store::ObjectStore>(store::open_store(config)), prefix);
  }
  auto colon = location.find(':');
  auto slash = location.find('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon < slash))
    throw std::invalid_argument("repository \"" + location + "\": only local paths, s3: and azure: are supported");
  return local_backend(location);
}

}  // namespace arca::repo
