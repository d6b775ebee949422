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
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <unordered_map>

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

// A regular file being restored: its blobs arrive pack by pack, in any order; the last one written applies the
// metadata. Created during the walk, by the walker of its directory (plan_file), then closed until its blobs come.
struct FileTarget {
  std::string path;
  // What the end applies: a Node's fields, not a Node, as a restore holds one of these per file (100k files:
  // 25 MiB less).
  uint32_t mode = 0, uid = 0, gid = 0;
  Time atime, mtime;
  std::vector<std::pair<std::string, std::string>> xattrs;
  uint64_t size = 0;  // the sum of its blobs
  std::mutex mu;
  int fd = -1;
  size_t remaining = 0;  // blob writes still to come
  uint64_t written_end = 0;  // all-zero blobs are skipped (holes), so the size is set at the end when needed
  ~FileTarget() {
    if (fd >= 0) ::close(fd);
  }
};

// One blob to write into one file at one offset.
struct BlobUse {
  Id id;
  IndexEntry entry;
  uint32_t file;
  uint64_t offset;
};

// Bytes read in one request: nearby blobs of a pack are fetched together (a gap costs less than another
// request to an object store), but never more than this, so that a worker's buffer stays small.
constexpr uint64_t kMaxRange = 4 << 20, kMaxGap = 256 << 10;
// Files kept open between their blob writes; past it a file is closed after each write and opened again.
constexpr int kMaxOpenFiles = 256;

// restic's restorer (internal/restorer/filerestorer.go): the tree walk creates directories, links and special
// files and plans every regular file's blobs by pack; then each pack is read once (its needed ranges) and every
// blob in it written to all the places that use it, on all cores.
struct Restorer {
  RepositoryImpl& repo;
  TaskPool pool;
  std::mutex mu;  // result, hardlinks, dirs, files, plan: shared by the directory walkers
  RestoreResult result;
  const int max_walkers;
  std::atomic<int> walkers{0}, open_files{0};
  std::atomic<uint64_t> files_done{0}, bytes_done{0};
  std::map<std::pair<uint64_t, uint64_t>, std::string> hardlinks;  // (device, inode) → first path restored
  std::vector<std::pair<std::string, Node>> dirs;                  // metadata applied last, deepest first
  std::deque<FileTarget> files;
  std::unordered_map<uint32_t, std::vector<BlobUse>> plan;  // pack number → its blobs' uses
  std::vector<uint32_t> pack_order;                          // in the order the walk first needed them
  bool is_root = ::geteuid() == 0;
  std::function<bool()> canceled;

  Restorer(RepositoryImpl& r, int threads, std::function<bool()> canceled)
      : repo(r), pool(threads, 2 * threads), max_walkers(threads), canceled(std::move(canceled)) {}

  void check_canceled() {
    if (canceled && canceled()) throw Canceled("the restore was canceled");
  }

  void metadata(const std::string& path, const Node& n, int fd) {
    if (is_root) (fd >= 0 ? ::fchown(fd, n.uid, n.gid) : ::lchown(path.c_str(), n.uid, n.gid));
    if (n.type != "symlink") fd >= 0 ? ::fchmod(fd, posix_mode(n.mode)) : ::chmod(path.c_str(), posix_mode(n.mode));
    struct timespec times[2] = {ts(n.atime), ts(n.mtime)};
    if (fd >= 0) ::futimens(fd, times);
    else ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  // Creates (or empties) the file at `path`, replacing a symlink or directory there, never following one.
  static int create_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == ELOOP || errno == EISDIR)) {
      clear_entry(path);
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (fd < 0) throw std::runtime_error(sys_error("cannot create", path));
    return fd;
  }

  // The file's size, extended attributes and metadata, once all its blobs are written. Called with f.mu held.
  void finish_file(FileTarget& f) {
    if (f.fd < 0) {
      f.fd = ::open(f.path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
      if (f.fd < 0) throw std::runtime_error(sys_error("cannot open", f.path));
      ++open_files;
    }
    if (f.written_end != f.size && ::ftruncate(f.fd, static_cast<off_t>(f.size)) != 0)
      throw std::runtime_error(sys_error("cannot size", f.path));
    for (const auto& [name, value] : f.xattrs) ::lsetxattr(f.path.c_str(), name.c_str(), value.data(), value.size(), 0);
    if (is_root) ::fchown(f.fd, f.uid, f.gid);
    ::fchmod(f.fd, posix_mode(f.mode));
    struct timespec times[2] = {ts(f.atime), ts(f.mtime)};
    ::futimens(f.fd, times);
    ::close(f.fd);
    f.fd = -1;
    --open_files;
    ++files_done;
  }

  void write_blob(FileTarget& f, uint64_t offset, std::string_view data) {
    // All-zero blobs become holes: sparse files stay sparse.
    bool zero = !data.empty() && data[0] == 0 && std::memcmp(data.data(), data.data() + 1, data.size() - 1) == 0;
    std::lock_guard l(f.mu);
    if (!zero) {
      if (f.fd < 0) {
        f.fd = ::open(f.path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (f.fd < 0) throw std::runtime_error(sys_error("cannot open", f.path));
        ++open_files;
      }
      size_t done = 0;
      while (done < data.size()) {
        ssize_t w = ::pwrite(f.fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw std::runtime_error(sys_error("cannot write", f.path));
        done += static_cast<size_t>(w);
      }
      f.written_end = std::max(f.written_end, offset + data.size());
    }
    bytes_done += data.size();
    if (--f.remaining == 0) {
      finish_file(f);
    } else if (f.fd >= 0 && open_files > kMaxOpenFiles) {
      ::close(f.fd);
      f.fd = -1;
      --open_files;
    }
  }

  // Reads the needed ranges of one pack and writes each blob to every place that uses it.
  void restore_pack(uint32_t pack, std::vector<BlobUse>& uses) {
    std::sort(uses.begin(), uses.end(), [](const BlobUse& a, const BlobUse& b) { return a.entry.offset < b.entry.offset; });
    std::string name;
    {
      std::lock_guard lock(repo.index_mu);
      name = file_name("data", repo.packs[pack].hex());
    }
    check_canceled();
    for (size_t i = 0; i < uses.size() && !pool.failed();) {
      uint64_t begin = uses[i].entry.offset, end = begin + uses[i].entry.length;
      size_t j = i + 1;
      for (; j < uses.size(); ++j) {
        uint64_t b = uses[j].entry.offset, e = std::max<uint64_t>(end, b + uses[j].entry.length);
        if (b > end + kMaxGap || e - begin > kMaxRange) break;
        end = e;
      }
      // Per thread, kept: fresh megabytes for every range and blob cost page faults (a tenth of the CPU).
      thread_local std::string range, plain, scratch;
      repo.backend->load_range_into(name, begin, end - begin, range);
      for (size_t k = i; k < j;) {
        const BlobUse& u = uses[k];
        repo.decode_blob_into(u.id, u.entry, std::string_view(range).substr(u.entry.offset - begin, u.entry.length),
                              plain, scratch);
        for (; k < j && uses[k].id == u.id; ++k) write_blob(files[uses[k].file], uses[k].offset, plain);
      }
      i = j;
    }
  }

  // Creates a regular file and records its blobs in the plan; `fd`: the file, when a hard link's first name
  // already created it.
  void plan_file(const std::string& path, const Node& n, int fd) {
    std::vector<std::pair<Id, IndexEntry>> blobs;
    blobs.reserve(n.content.size());
    for (const auto& id : n.content) {
      auto e = repo.lookup(id);
      if (!e) throw std::runtime_error("blob " + id.hex() + " of " + path + " is not in the index");
      blobs.emplace_back(id, *e);
    }
    // Created here, by the walker of its directory, not at its first blob: pack workers creating files in
    // one directory at once serialize on its lock (spinning on it cost a tenth of a restore's CPU); later
    // opens take no directory lock.
    if (fd < 0) {
      fd = create_file(path);
      if (!blobs.empty()) {
        ::close(fd);
        fd = -1;
      }
    }
    std::lock_guard l(mu);
    ++result.files;
    result.bytes += n.size;
    auto index = static_cast<uint32_t>(files.size());
    FileTarget& f = files.emplace_back();
    f.path = path;
    f.mode = n.mode, f.uid = n.uid, f.gid = n.gid, f.atime = n.atime, f.mtime = n.mtime, f.xattrs = n.xattrs;
    f.fd = fd;
    if (fd >= 0) ++open_files;
    f.remaining = blobs.size();
    uint64_t offset = 0;
    for (const auto& [id, e] : blobs) {
      auto [it, fresh] = plan.try_emplace(e.pack);
      if (fresh) pack_order.push_back(e.pack);
      it->second.push_back({id, e, index, offset});
      offset += e.uncompressed_length ? e.uncompressed_length : e.length - kCryptoOverhead;
    }
    f.size = offset;
    if (blobs.empty()) finish_file(f);
    else if (fd >= 0 && open_files > kMaxOpenFiles) {
      ::close(f.fd);
      f.fd = -1;
      --open_files;
    }
  }

  void restore_node(const std::string& parent, const Node& n, const std::string& where) {
    check_canceled();
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
      if (n.links > 1) {
        // The first name of a hard-linked file is created now, under the lock, so that a second name never
        // links to a path not there yet.
        std::unique_lock hl(mu);
        auto [it, fresh] = hardlinks.try_emplace({n.device_id, n.inode}, path);
        if (!fresh) {
          clear_entry(path);
          if (::link(it->second.c_str(), path.c_str()) != 0) throw std::runtime_error(sys_error("cannot link", path));
          ++result.hardlinks;
          return;
        }
        int fd = create_file(path);
        hl.unlock();
        plan_file(path, n, fd);
        return;
      }
      plan_file(path, n, -1);
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
    // Subdirectories go to another walker while one is free; everything else happens here.
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

  // After the walk: every planned pack, read once each, on the pool.
  void restore_packs() {
    for (uint32_t pack : pack_order) {
      auto* uses = &plan[pack];
      pool.submit([this, pack, uses] {
        if (!pool.failed()) restore_pack(pack, *uses);
        std::vector<BlobUse>().swap(*uses);
      });
    }
    pool.wait();
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
  Restorer r(repo, threads, opt.canceled);
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
  r.restore_packs();
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
