// `restore`: recreates a snapshot (or one path of it) below a target directory: contents, modes, owners,
// times, symlinks as links, hard links as links. Every name is checked, directories are verified to be real
// directories, and files are opened with O_NOFOLLOW, so nothing can be written outside the target.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "repo/pool.h"
#include "repo/repo_impl.h"

namespace arca::repo {
namespace {

struct timespec ts(Time t) { return {static_cast<time_t>(t.sec), t.nsec}; }

void check_name(const std::string& name, const std::string& where) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw std::runtime_error("refusing to restore the entry \"" + name + "\" in " + where + ": not a plain file name");
}

// Makes `path` a directory: an existing directory is kept, anything else there (a file, a symlink) is replaced.
void ensure_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return;
  if (errno != EEXIST) throw std::runtime_error(sys_error("cannot create directory", path));
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) throw std::runtime_error(sys_error("cannot stat", path));
  if (S_ISDIR(st.st_mode)) return;
  if (::unlink(path.c_str()) != 0 || ::mkdir(path.c_str(), 0700) != 0)
    throw std::runtime_error(sys_error("cannot replace with a directory", path));
}

// Removes a non-directory entry at `path` so that a new one can be created there.
void clear_entry(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  } else {
    ::unlink(path.c_str());
  }
}

void set_xattrs(const std::string& path, const Node& n) {
  for (const auto& [name, value] : n.xattrs) ::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0);
}

struct Restorer {
  RepositoryImpl& repo;
  TaskPool pool;
  std::mutex mu;  // result, hardlinks, dirs: shared by the directory walkers
  RestoreResult result;
  const int max_walkers;
  std::atomic<int> walkers{0};
  std::atomic<uint64_t> files_done{0}, bytes_done{0};
  std::map<std::pair<uint64_t, uint64_t>, std::string> hardlinks;  // (device, inode) → first path restored
  std::vector<std::pair<std::string, Node>> dirs;                  // metadata applied last, deepest first
  bool is_root = ::geteuid() == 0;

  Restorer(RepositoryImpl& r, int threads) : repo(r), pool(threads, 4 * threads), max_walkers(threads) {}

  void metadata(const std::string& path, const Node& n, int fd) {
    if (is_root) (fd >= 0 ? ::fchown(fd, n.uid, n.gid) : ::lchown(path.c_str(), n.uid, n.gid));
    if (n.type != "symlink") fd >= 0 ? ::fchmod(fd, posix_mode(n.mode)) : ::chmod(path.c_str(), posix_mode(n.mode));
    struct timespec times[2] = {ts(n.atime), ts(n.mtime)};
    if (fd >= 0) ::futimens(fd, times);
    else ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  void write_file(int fd, const std::string& path, const Node& n) {
    uint64_t offset = 0;
    for (const auto& id : n.content) {
      std::string data = repo.load_blob(id);
      // All-zero blobs become holes: sparse files stay sparse.
      bool zero = !data.empty() && data[0] == 0 && std::memcmp(data.data(), data.data() + 1, data.size() - 1) == 0;
      size_t done = 0;
      while (!zero && done < data.size()) {
        ssize_t w = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw std::runtime_error(sys_error("cannot write", path));
        done += static_cast<size_t>(w);
      }
      offset += data.size();
      bytes_done += data.size();
    }
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) throw std::runtime_error(sys_error("cannot size", path));
    set_xattrs(path, n);
    metadata(path, n, fd);
    ++files_done;
  }

  void restore_node(const std::string& parent, const Node& n, const std::string& where) {
    check_name(n.name, where);
    std::string path = parent + "/" + n.name;
    if (n.type == "dir") {
      ensure_dir(path);
      {
        std::lock_guard l(mu);
        ++result.dirs;
        dirs.emplace_back(path, n);
      }
      if (n.subtree) restore_tree(path, *n.subtree, where == "/" ? "/" + n.name : where + "/" + n.name);
    } else if (n.type == "file") {
      // A hard-linked file is created under the lock, so that a second name never links to a path not there yet.
      std::unique_lock hl(mu, std::defer_lock);
      if (n.links > 1) {
        hl.lock();
        auto [it, fresh] = hardlinks.try_emplace({n.device_id, n.inode}, path);
        if (!fresh) {
          clear_entry(path);
          if (::link(it->second.c_str(), path.c_str()) != 0) throw std::runtime_error(sys_error("cannot link", path));
          ++result.hardlinks;
          return;
        }
      }
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && (errno == ELOOP || errno == EISDIR)) {
        clear_entry(path);
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
      }
      if (fd < 0) throw std::runtime_error(sys_error("cannot create", path));
      if (hl.owns_lock()) hl.unlock();
      {
        std::lock_guard l(mu);
        ++result.files;
        result.bytes += n.size;
      }
      pool.submit([this, fd, path, node = n] {
        struct Closer {
          int fd;
          ~Closer() { ::close(fd); }
        } closer{fd};
        if (!pool.failed()) write_file(fd, path, node);
      });
    } else if (n.type == "symlink") {
      clear_entry(path);
      if (::symlink(n.linktarget.c_str(), path.c_str()) != 0) throw std::runtime_error(sys_error("cannot create symlink", path));
      metadata(path, n, -1);
      std::lock_guard l(mu);
      ++result.symlinks;
    } else if (n.type == "fifo" || n.type == "dev" || n.type == "chardev") {
      clear_entry(path);
      mode_t kind = n.type == "fifo" ? S_IFIFO : n.type == "dev" ? S_IFBLK : S_IFCHR;
      if (::mknod(path.c_str(), kind | posix_mode(n.mode), static_cast<dev_t>(n.device)) == 0) metadata(path, n, -1);
    }
    // sockets and unknown types are not restored, as restic does not restore them either
  }

  void restore_tree(const std::string& dir, const Id& tree, const std::string& where) {
    auto nodes = parse_tree(repo.load_blob(tree));
    std::set<std::string> seen;
    for (const auto& n : nodes)
      if (!seen.insert(n.name).second)
        throw std::runtime_error("tree " + tree.hex() + " (" + where + ") lists \"" + n.name + "\" twice");
    // Subdirectories go to another walker while one is free (as in backup); everything else happens here.
    std::vector<std::future<void>> pending;
    for (const auto& n : nodes) {
      if (n.type == "dir" && walkers.fetch_add(1) < max_walkers) {
        pending.push_back(std::async(std::launch::async, [this, &dir, &n, &where] {
          struct Release {
            std::atomic<int>& w;
            ~Release() { --w; }
          } release{walkers};
          restore_node(dir, n, where);
        }));
        continue;
      }
      if (n.type == "dir") --walkers;
      restore_node(dir, n, where);
    }
    for (auto& f : pending) f.get();
  }
};

}  // namespace

RestoreResult restore(Repository& repository, const RestoreOptions& opt) {
  RepositoryImpl& repo = repository.impl();
  if (opt.target.empty()) throw std::invalid_argument("no restore target given (--target)");
  Id sid = Id::parse(find_snapshot(repository, opt.snapshot));
  repo.load_index();
  Snapshot snap = parse_snapshot(repo.load_unpacked("snapshots", sid.hex()));
  std::error_code ec;
  std::filesystem::create_directories(opt.target, ec);
  std::string target = std::filesystem::absolute(opt.target, ec).lexically_normal().string();
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  struct stat st;
  if (::stat(target.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("restore target " + target + " is not a directory");

  int threads = opt.threads > 0 ? opt.threads : default_threads();
  Restorer r(repo, threads);
  ProgressReporter reporter(opt.progress, [&](Progress& p) {
    p.files_done = r.files_done, p.bytes_done = r.bytes_done;
    std::lock_guard l(r.mu);
    p.files_total = r.result.files, p.bytes_total = r.result.bytes;
  });

  if (opt.include.empty() || opt.include == "/") {
    r.restore_tree(target, snap.tree, "/");
  } else {
    // Walk down to the included path, creating its parent directories on the way.
    std::vector<std::string> parts;
    for (const auto& part : std::filesystem::path(opt.include).lexically_normal())
      if (part != "/" && !part.empty()) parts.push_back(part.string());
    Id tree = snap.tree;
    std::string dir = target, where;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto nodes = parse_tree(repo.load_blob(tree));
      auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == parts[i]; });
      if (it == nodes.end()) throw std::runtime_error("path " + opt.include + " is not in snapshot " + sid.short_hex());
      if (i + 1 == parts.size()) {
        r.restore_node(dir, *it, where.empty() ? "/" : where);
        break;
      }
      if (it->type != "dir" || !it->subtree)
        throw std::runtime_error("path " + opt.include + ": " + it->name + " is not a directory in the snapshot");
      check_name(it->name, where);
      dir += "/" + it->name;
      where += "/" + it->name;
      ensure_dir(dir);
      r.dirs.emplace_back(dir, *it);
      tree = *it->subtree;
    }
  }
  r.pool.wait();
  // Directory times last, deepest first: creating entries inside a directory changes its mtime.
  std::stable_sort(r.dirs.begin(), r.dirs.end(), [](const auto& a, const auto& b) {
    return std::count(a.first.begin(), a.first.end(), '/') < std::count(b.first.begin(), b.first.end(), '/');
  });
  for (auto it = r.dirs.rbegin(); it != r.dirs.rend(); ++it) {
    set_xattrs(it->first, it->second);
    r.metadata(it->first, it->second, -1);
  }
  reporter.finish();
  return r.result;
}

}  // namespace arca::repo
