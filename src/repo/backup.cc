// `backup`: walks a directory tree, chunks every new or changed file with the repository's polynomial, and
// stores data and tree blobs; files whose size, mtime, ctime and inode match the parent snapshot keep their
// old content list without being read (restic's change detection).
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>

#include "repo/pool.h"
#include "repo/repo_impl.h"

namespace arca::repo {
namespace {

// Counts outstanding tasks of one directory.
class Latch {
 public:
  void add() {
    std::lock_guard lock(mu_);
    ++count_;
  }
  void done() {
    std::lock_guard lock(mu_);
    if (--count_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t count_ = 0;
};

// User and group names by ID, looked up once each.
class NameCache {
 public:
  std::string user(uint32_t uid) {
    return lookup(users_, uid, [](uint32_t id, char* buf, size_t size) -> std::string {
      struct passwd pw, *r = nullptr;
      return getpwuid_r(id, &pw, buf, size, &r) == 0 && r ? r->pw_name : "";
    });
  }
  std::string group(uint32_t gid) {
    return lookup(groups_, gid, [](uint32_t id, char* buf, size_t size) -> std::string {
      struct group gr, *r = nullptr;
      return getgrgid_r(id, &gr, buf, size, &r) == 0 && r ? r->gr_name : "";
    });
  }

 private:
  template <typename Fn>
  std::string lookup(std::map<uint32_t, std::string>& cache, uint32_t id, Fn fn) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = cache.try_emplace(id);
    if (fresh) {
      char buf[1024];
      it->second = fn(id, buf, sizeof buf);
    }
    return it->second;
  }
  std::mutex mu_;
  std::map<uint32_t, std::string> users_, groups_;
};

// Extended attributes by path (directories), or of an open file: a file's are read through the descriptor its
// content is read from, which saves resolving its path twice more per file.
void read_xattrs(const std::string& path, int fd, Node& node) {
  char names[4096];
  ssize_t n = fd >= 0 ? ::flistxattr(fd, names, sizeof names) : ::llistxattr(path.c_str(), names, sizeof names);
  if (n <= 0) return;
  for (ssize_t i = 0; i < n;) {
    std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    char value[65536];
    ssize_t v = fd >= 0 ? ::fgetxattr(fd, name.c_str(), value, sizeof value)
                        : ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    if (v >= 0) node.xattrs.emplace_back(name, std::string(value, static_cast<size_t>(v)));
  }
}

struct Backup {
  RepositoryImpl& repo;
  const BackupOptions& opt;
  TaskPool pool;
  NameCache names;
  std::atomic<uint64_t> files_new{0}, files_changed{0}, files_unmodified{0}, dirs{0}, bytes_read{0}, files_done{0},
      bytes_done{0};

  // Directory walkers besides the caller: stat-heavy trees (many small files, or an unchanged second backup)
  // would otherwise leave all but one core idle.
  const int max_walkers;
  std::atomic<int> walkers{0};

  // A queued file costs a path and a reference, not its data, so the queue is long: with a few slots per
  // worker, walkers and workers of a tree of small files woke each other for every file (a tenth of the
  // backup's CPU went to futex waits and context switches).
  Backup(RepositoryImpl& r, const BackupOptions& o, int threads)
      : repo(r), opt(o), pool(threads, 256 * threads), max_walkers(threads) {}

  std::vector<Node> load_tree(const Id& id) { return parse_tree(repo.load_blob(id)); }

  void check_canceled() {
    if (opt.canceled && opt.canceled()) throw Canceled("the backup of " + opt.source + " was canceled");
  }

  Node stat_node(int dirfd, const std::string& name, const std::string& path, struct stat& st) {
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw std::runtime_error(sys_error("cannot stat", path));
    Node n;
    n.name = name;
    n.mode = go_mode(st.st_mode);
    n.mtime = Time::from(st.st_mtim);
    n.atime = Time::from(st.st_atim);
    n.ctime = Time::from(st.st_ctim);
    n.uid = st.st_uid;
    n.gid = st.st_gid;
    n.user = names.user(st.st_uid);
    n.group = names.group(st.st_gid);
    n.inode = st.st_ino;
    n.device_id = st.st_dev;
    switch (st.st_mode & S_IFMT) {
      case S_IFREG: n.type = "file", n.size = static_cast<uint64_t>(st.st_size), n.links = st.st_nlink; break;
      case S_IFDIR: n.type = "dir"; break;
      case S_IFLNK: {
        n.type = "symlink", n.links = st.st_nlink;
        std::string target(static_cast<size_t>(st.st_size) + 256, '\0');
        ssize_t len = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (len < 0) throw std::runtime_error(sys_error("cannot read link", path));
        target.resize(static_cast<size_t>(len));
        n.linktarget = target;
        break;
      }
      case S_IFBLK: n.type = "dev", n.device = st.st_rdev, n.links = st.st_nlink; break;
      case S_IFCHR: n.type = "chardev", n.device = st.st_rdev, n.links = st.st_nlink; break;
      case S_IFIFO: n.type = "fifo", n.links = st.st_nlink; break;
      case S_IFSOCK: n.type = "socket", n.links = st.st_nlink; break;
      default: n.type = "irregular"; break;
    }
    // A file's extended attributes are read by store_file, through the descriptor it reads the content from,
    // once the file is known to have changed: setting one changes the ctime, so an unchanged file keeps the
    // parent's.
    if (n.type == "dir") read_xattrs(path, -1, n);
    return n;
  }

  // Reads, chunks and stores one file (`name` in the directory `dirfd`, `path` for messages); fills node.content
  // and node.size with what was read, and node.xattrs.
  void store_file(int dirfd, const std::string& path, Node& node) {
    const char* name = node.name.c_str();
    int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(sys_error("cannot open", path));
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    read_xattrs(path, fd, node);
    constexpr size_t kRead = 1 << 20;
    const uint64_t expected = node.size;  // from the walker's lstat
    if (expected > kRead) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    constexpr size_t kBuf = kMaxChunk + kRead;
    // Not zero-filled: only the part reads reach counts in the resident set.
    thread_local std::unique_ptr<char[]> buf(new char[kBuf]);
    thread_local std::unique_ptr<Chunker> chunker;
    if (!chunker) chunker = std::make_unique<Chunker>(*repo.tables);
    chunker->reset();
    auto* p = reinterpret_cast<uint8_t*>(buf.get());
    // A rare chunk near kMaxChunk touches most of the buffer; those pages go back once it is stored, or every
    // worker would keep ~9 MiB resident for the rest of the backup (the peak RSS is compared with restic's).
    // Ordinary chunks (512 KiB to 2 MiB) and a read keep the buffer's use under kKeep: with 2 MiB, a chunk that
    // ran past it gave its pages back only to fault them in again at the next read (4 % of a backup's CPU in
    // madvise and page faults; repo_bench's first backup: 230k page faults with 2 MiB kept, 125k with 3).
    struct Trim {
      uint8_t* p;
      size_t touched = 0;
      void operator()(size_t in_use) {
        constexpr size_t kKeep = 3 * kRead;
        if (touched <= kKeep) return;
        // From the first page boundary past what is in use (and past kKeep, which the next reads reuse).
        auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
        auto at = reinterpret_cast<uintptr_t>(p) + std::max(kKeep, in_use);
        size_t from = ((at + page - 1) & ~(page - 1)) - reinterpret_cast<uintptr_t>(p);
        // Whole pages only: the last one may hold someone else's bytes past the buffer.
        size_t to = ((reinterpret_cast<uintptr_t>(p) + touched) & ~(page - 1)) - reinterpret_cast<uintptr_t>(p);
        if (to > from) ::madvise(p + from, to - from, MADV_DONTNEED);
        touched = std::min(touched, from);
      }
    } trim{p};
    size_t start = 0, scanned = 0, filled = 0;
    uint64_t total = 0;
    node.content.clear();
    auto emit = [&](size_t from, size_t to) {
      check_canceled();
      std::string_view chunk(buf.get() + from, to - from);
      node.content.push_back(repo.save_blob(BlobType::Data, chunk));
      bytes_done += chunk.size();
    };
    while (true) {
      // The unfinished chunk moves to the front once a chunk has been cut off (chunks are at least 512 KiB
      // apart, so that is at most one move per chunk), so that only kKeep bytes of the buffer are touched
      // unless a chunk really grows towards kMaxChunk.
      if (start > 0 || filled == kBuf) {
        std::memmove(p, p + start, filled - start);
        filled -= start, scanned -= start, start = 0;
        trim(filled);
      }
      ssize_t n = ::read(fd, p + filled, std::min(kRead, kBuf - filled));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(sys_error("cannot read", path));
      if (n == 0) break;
      const bool short_read = static_cast<size_t>(n) < std::min(kRead, kBuf - filled);
      filled += static_cast<size_t>(n);
      trim.touched = std::max(trim.touched, filled);
      total += static_cast<uint64_t>(n);
      // A short read that reaches the size lstat gave is the end: a small file costs one read, not two.
      // (A file growing meanwhile is cut where it was when stat'ed, as if it grew just after.)
      const bool at_end = short_read && total == expected;
      while (scanned < filled) {
        size_t k = chunker->next_split(p + scanned, filled - scanned);
        if (k == Chunker::npos) {
          scanned = filled;
          break;
        }
        scanned += k;
        emit(start, scanned);
        start = scanned;
      }
      if (at_end) break;
    }
    if (start < filled) emit(start, filled);
    trim(0);  // this thread's next file starts with only the first kKeep bytes of the buffer resident
    node.size = total;
    bytes_read += total;
    ++files_done;
  }

  bool unchanged(const Node& now, const Node* before) {
    if (opt.force || !before || before->type != "file") return false;
    if (before->size != now.size || before->mtime != now.mtime || before->ctime != now.ctime || before->inode != now.inode)
      return false;
    for (const auto& id : before->content)
      if (!repo.known(id)) return false;
    return true;
  }

  Id walk(const std::string& path, const std::optional<Id>& parent_tree) {
    ++dirs;
    std::vector<Node> before;
    bool parent_loaded = false;
    if (parent_tree) {
      try {
        before = load_tree(*parent_tree);
        parent_loaded = true;
      } catch (const std::exception&) {
        before.clear();  // an unreadable parent only costs re-reading
      }
    }
    auto previous = [&](const std::string& name) -> const Node* {
      auto it = std::lower_bound(before.begin(), before.end(), name, [](const Node& n, const std::string& v) { return n.name < v; });
      return it != before.end() && it->name == name ? &*it : nullptr;
    };
    int dirfd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) throw std::runtime_error(sys_error("cannot open directory", path));
    std::vector<std::string> entries;
    {
      DIR* dp = ::fdopendir(::dup(dirfd));
      if (!dp) {
        ::close(dirfd);
        throw std::runtime_error(sys_error("cannot list", path));
      }
      while (auto* e = ::readdir(dp)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        entries.emplace_back(e->d_name);
      }
      ::closedir(dp);
    }
    std::sort(entries.begin(), entries.end());
    std::vector<Node> nodes(entries.size());
    Latch latch;
    // Every task of this directory must finish before `nodes` goes away, whatever happens.
    struct WaitOnExit {
      Latch& l;
      int fd;
      ~WaitOnExit() {
        l.wait();
        ::close(fd);
      }
    } guard{latch, dirfd};
    std::vector<size_t> subdirs;
    // Small files go to the workers in batches: one task, queue slot and wake-up per file cost a tenth of a
    // backup of 100k small files in futex calls and context switches.
    std::vector<size_t> batch;
    uint64_t batch_bytes = 0;
    auto submit = [&] {
      if (batch.empty()) return;
      latch.add();
      pool.submit([this, &path, &nodes, &latch, dirfd, files = std::move(batch)] {
        struct Done {
          Latch& l;
          ~Done() { l.done(); }
        } done{latch};
        for (size_t i : files)
          if (!pool.failed()) store_file(dirfd, path + "/" + nodes[i].name, nodes[i]);
      });
      batch.clear(), batch_bytes = 0;
    };
    for (size_t i = 0; i < entries.size(); ++i) {
      check_canceled();
      std::string child = path + "/" + entries[i];
      struct stat st;
      nodes[i] = stat_node(dirfd, entries[i], child, st);
      Node& node = nodes[i];
      const Node* old = previous(entries[i]);
      if (node.type == "dir") {
        subdirs.push_back(i);
      } else if (node.type == "file") {
        if (unchanged(node, old)) {
          node.content = old->content;
          node.xattrs = old->xattrs;
          ++files_unmodified, ++files_done;
          bytes_done += node.size;
        } else {
          ++(old && old->type == "file" ? files_changed : files_new);
          constexpr size_t kBatchFiles = 64;
          constexpr uint64_t kBatchBytes = 1 << 20;
          if (node.size >= kBatchBytes) submit();  // a large file is a task of its own
          batch.push_back(i);
          batch_bytes += node.size;
          if (batch.size() >= kBatchFiles || batch_bytes >= kBatchBytes) submit();
        }
      }
    }
    submit();
    // Subdirectories go to another walker thread while one is free, and are walked here otherwise, so no
    // walker ever waits for work queued behind it.
    std::vector<std::pair<size_t, std::future<Id>>> pending;
    for (size_t i : subdirs) {
      const Node* old = previous(entries[i]);
      std::optional<Id> parent = old && old->type == "dir" ? old->subtree : std::nullopt;
      std::string child = path + "/" + entries[i];
      if (walkers.fetch_add(1) < max_walkers) {
        pending.emplace_back(i, std::async(std::launch::async, [this, child, parent] {
          struct Release {
            std::atomic<int>& w;
            ~Release() { --w; }
          } release{walkers};
          return walk(child, parent);
        }));
      } else {
        --walkers;
        nodes[i].subtree = walk(child, parent);
      }
    }
    for (auto& [i, f] : pending) nodes[i].subtree = f.get();
    latch.wait();
    if (pool.failed()) pool.wait();  // rethrows the task's error
    // Nothing changed below this directory: the parent's tree is this one (it is in the index, it was just
    // loaded from it), so neither encoding nor hashing it again.
    if (parent_loaded && nodes == before) return *parent_tree;
    return repo.save_blob(BlobType::Tree, tree_json(nodes));
  }
};

// Totals for the progress line (files, bytes), counted by a second walker that keeps no per-file state.
void scan(const std::string& path, std::atomic<uint64_t>& files, std::atomic<uint64_t>& bytes, const std::atomic<bool>& stop) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator() && !stop; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      ++files;
      bytes += it->file_size(ec);
    }
  }
}

}  // namespace

BackupResult backup(Repository& repository, const BackupOptions& opt) {
  RepositoryImpl& repo = repository.impl();
  std::error_code ec;
  std::string source = std::filesystem::absolute(opt.source, ec).lexically_normal().string();
  while (source.size() > 1 && source.back() == '/') source.pop_back();
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) throw std::runtime_error(sys_error("cannot back up", source));
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error("cannot back up " + source + ": not a directory");

  auto lock = repo.lock(false, opt.retry_lock);
  repo.load_index();
  const uint64_t blobs_before = repo.blobs_added, bytes_before = repo.bytes_added;  // an open repository reused
  std::string host = opt.host.empty() ? hostname() : opt.host;

  std::optional<Id> parent_id, parent_tree;
  auto snaps = repo.load_snapshots();
  if (opt.parent) {
    Id id = Id::parse(find_snapshot(repository, *opt.parent));
    for (const auto& [sid, s] : snaps)
      if (sid == id) parent_id = sid, parent_tree = s.tree;
  } else {
    for (const auto& [sid, s] : snaps)
      if (s.hostname == host && s.paths == std::vector<std::string>{source}) parent_id = sid, parent_tree = s.tree;
  }

  Time started = Time::now();
  int threads = opt.threads > 0 ? opt.threads : default_threads();
  Backup b(repo, opt, threads);

  std::atomic<uint64_t> total_files{0}, total_bytes{0};
  ProgressReporter reporter(opt.progress, [&](Progress& p) {
    p.files_done = b.files_done, p.bytes_done = b.bytes_done;
    p.files_total = total_files, p.bytes_total = total_bytes;
  });
  std::thread scanner;
  if (opt.progress) scanner = std::thread([&] { scan(source, total_files, total_bytes, reporter.stopped()); });
  struct JoinScanner {
    ProgressReporter& r;
    std::thread& t;
    ~JoinScanner() {
      r.stop();
      if (t.joinable()) t.join();
    }
  } join_scanner{reporter, scanner};

  Id tree = b.walk(source, parent_tree);
  b.pool.wait();
  repo.flush();

  Snapshot snap;
  snap.time = started;
  snap.parent = parent_id;
  snap.tree = tree;
  snap.paths = {source};
  snap.hostname = host;
  snap.username = username();
  snap.uid = ::getuid();
  snap.gid = ::getgid();
  snap.tags = opt.tags;
  Id sid = repo.save_unpacked("snapshots", snapshot_json(snap));

  reporter.finish();
  BackupResult r;
  r.snapshot_id = sid.hex();
  r.files_new = b.files_new, r.files_changed = b.files_changed, r.files_unmodified = b.files_unmodified;
  r.dirs = b.dirs, r.bytes_read = b.bytes_read;
  r.blobs_added = repo.blobs_added - blobs_before, r.bytes_added = repo.bytes_added - bytes_before;
  return r;
}

}  // namespace arca::repo
