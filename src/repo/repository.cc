// Opening and creating repositories, the index, blobs, packs, unpacked files, snapshots and locks.
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "repo/repo_impl.h"

namespace arca::repo {

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string username() {
  struct passwd pw, *result = nullptr;
  char buf[1024];
  if (getpwuid_r(::getuid(), &pw, buf, sizeof buf, &result) == 0 && result) return result->pw_name;
  return "";
}

Repository::Repository(std::unique_ptr<RepositoryImpl> impl) : impl_(std::move(impl)) {}
Repository::~Repository() = default;
Repository::Repository(Repository&&) noexcept = default;
std::string Repository::describe() const { return impl_->backend->describe(); }

namespace {

constexpr size_t kMaxKeysTried = 20;  // as restic: a repository with many keys is not brute-forced

std::string key_error_context(const std::string& where, const std::exception& e) {
  return where + ": " + e.what();
}

}  // namespace

Repository init_repository(std::unique_ptr<Backend> backend, const std::string& password) {
  if (password.empty()) throw std::invalid_argument("an empty password is not allowed");
  if (backend->exists("config"))
    throw std::runtime_error("repository " + backend->describe() + " is already initialized (config exists)");
  backend->create_layout();
  auto impl = std::make_unique<RepositoryImpl>();
  impl->key = Key::random();
  impl->config.version = 2;
  Id rid;
  random_bytes(rid.bytes.data(), 32);
  impl->config.id = rid.hex();
  impl->config.chunker_polynomial = random_polynomial();

  KeyFile kf;
  kf.created = format_time(Time::now());
  kf.username = username();
  kf.hostname = hostname();
  kf.salt.resize(64);
  random_bytes(kf.salt.data(), kf.salt.size());
  Key user = derive_key(password, kf.salt, kf.n, kf.r, kf.p);
  kf.data = encrypt(user, master_key_json(impl->key));
  std::string key_json = key_file_json(kf);
  impl->key_name = sha256(key_json).hex();
  backend->save("keys/" + impl->key_name, key_json);
  backend->save("config", encrypt(impl->key, config_json(impl->config)));

  impl->backend = std::move(backend);
  impl->tables = std::make_unique<ChunkerTables>(impl->config.chunker_polynomial);
  impl->data_packer = std::make_unique<Packer>(*impl, BlobType::Data);
  impl->tree_packer = std::make_unique<Packer>(*impl, BlobType::Tree);
  impl->index_loaded = true;  // a new repository has no index
  return Repository(std::move(impl));
}

Repository open_repository(std::unique_ptr<Backend> backend, const std::string& password) {
  auto impl = std::make_unique<RepositoryImpl>();
  std::string where = backend->describe();
  if (!backend->exists("config")) throw std::runtime_error("no repository at " + where + " (config not found)");
  auto keys = backend->list("keys");
  bool found = false;
  for (size_t i = 0; i < keys.size() && i < kMaxKeysTried && !found; ++i) {
    KeyFile kf;
    try {
      kf = parse_key_file(backend->load("keys/" + keys[i].name));
    } catch (const std::exception& e) {
      continue;  // an unreadable key file is skipped, as restic does
    }
    if (kf.kdf != "scrypt") continue;
    Key user = derive_key(password, kf.salt, kf.n, kf.r, kf.p);
    std::string plain;
    if (!decrypt(user, kf.data, plain)) continue;
    try {
      impl->key = parse_master_key(plain);
    } catch (const std::exception& e) {
      throw std::runtime_error(key_error_context("key file keys/" + keys[i].name, e));
    }
    impl->key_name = keys[i].name;
    found = true;
  }
  if (!found) throw WrongPassword("wrong password or no key found for repository " + where);
  std::string plain;
  if (!decrypt(impl->key, backend->load("config"), plain))
    throw std::runtime_error("repository " + where + ": config does not decrypt with the repository key (damaged?)");
  impl->config = parse_config(decode_unpacked(plain));
  if (impl->config.version != 1 && impl->config.version != 2)
    throw std::runtime_error("repository " + where + " has unsupported format version " +
                             std::to_string(impl->config.version));
  impl->backend = std::move(backend);
  impl->tables = std::make_unique<ChunkerTables>(impl->config.chunker_polynomial);
  impl->data_packer = std::make_unique<Packer>(*impl, BlobType::Data);
  impl->tree_packer = std::make_unique<Packer>(*impl, BlobType::Tree);
  return Repository(std::move(impl));
}

// ---- unpacked files -----------------------------------------------------------------------------------------

std::string RepositoryImpl::load_unpacked(const std::string& type, const std::string& id) {
  std::string name = file_name(type, id);
  std::string sealed = backend->load(name);
  if (sha256(sealed).hex() != id) throw std::runtime_error(name + ": content does not match its name (damaged)");
  std::string plain;
  if (!decrypt(key, sealed, plain)) throw std::runtime_error(name + ": MAC check failed (damaged)");
  try {
    return decode_unpacked(plain);
  } catch (const std::exception& e) {
    throw std::runtime_error(name + ": " + e.what());
  }
}

Id RepositoryImpl::save_unpacked(const std::string& type, std::string_view json) {
  std::string sealed = encrypt(key, encode_unpacked(json, config.version));
  Id id = sha256(sealed);
  backend->save(file_name(type, id.hex()), sealed);
  return id;
}

std::vector<std::pair<Id, Snapshot>> RepositoryImpl::load_snapshots() {
  std::vector<std::pair<Id, Snapshot>> out;
  for (const auto& f : backend->list("snapshots")) {
    Id id = Id::parse(f.name);
    try {
      out.emplace_back(id, parse_snapshot(load_unpacked("snapshots", f.name)));
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("snapshot ") + f.name + ": " + e.what());
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second.time < b.second.time; });
  return out;
}

// ---- index --------------------------------------------------------------------------------------------------

void RepositoryImpl::load_index() {
  std::lock_guard lock(index_mu);
  // Loaded before (a repository kept open between operations): only the index files added since are read, unless
  // one read before is gone (a prune superseded them, and its packs may be gone too): then all of them again.
  auto listed = backend->list("index");
  std::unordered_set<Id, IdHash> known;
  if (index_loaded) {
    std::unordered_set<Id, IdHash> present;
    for (const auto& f : listed) present.insert(Id::parse(f.name));
    if (std::all_of(index_files.begin(), index_files.end(), [&](const Id& id) { return present.count(id) > 0; })) {
      known.insert(index_files.begin(), index_files.end());
    } else {
      packs.clear();
      pack_numbers.clear();
      index.clear();
      index_files.clear();
    }
  }
  for (const auto& f : listed) {
    if (known.count(Id::parse(f.name))) continue;
    IndexFile file;
    try {
      file = parse_index(load_unpacked("index", f.name));
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("index ") + f.name + ": " + e.what());
    }
    index_files.push_back(Id::parse(f.name));
    size_t blobs = 0;
    for (const auto& p : file.packs) blobs += p.blobs.size();
    index.reserve(index.size() + blobs);  // one rehash per file at most, not one per doubling
    for (const auto& p : file.packs) {
      auto [it, fresh] = pack_numbers.try_emplace(p.id, static_cast<uint32_t>(packs.size()));
      if (fresh) packs.push_back(p.id);
      for (const auto& b : p.blobs)
        index.try_emplace(b.id, IndexEntry{it->second, b.offset, b.length, b.uncompressed_length, b.type});
    }
  }
  index_loaded = true;
}

std::optional<IndexEntry> RepositoryImpl::lookup(const Id& id) {
  std::lock_guard lock(index_mu);
  auto it = index.find(id);
  if (it == index.end()) return std::nullopt;
  return it->second;
}

bool RepositoryImpl::known(const Id& id) {
  std::lock_guard lock(index_mu);
  return index.count(id) || inflight.count(id);
}

std::string RepositoryImpl::decode_blob(const Id& id, const IndexEntry& e, std::string_view sealed) {
  std::string plain, scratch;
  decode_blob_into(id, e, sealed, plain, scratch);
  return plain;
}

void RepositoryImpl::decode_blob_into(const Id& id, const IndexEntry& e, std::string_view sealed, std::string& plain,
                                      std::string& scratch) {
  // Named only on failure: building the name for every blob showed in restore profiles.
  auto where = [&] {
    std::lock_guard lock(index_mu);
    return "pack " + file_name("data", packs[e.pack].hex()) + ", blob " + id.hex();
  };
  PackedBlob blob{id, e.type, e.offset, e.length, e.uncompressed_length};
  try {
    open_blob_into(key, blob, sealed, plain, scratch);
  } catch (const std::exception& ex) {
    throw std::runtime_error(where() + ": " + ex.what());
  }
}

std::string RepositoryImpl::load_blob(const Id& id) {
  auto e = lookup(id);
  if (!e) throw std::runtime_error("blob " + id.hex() + " is not in the index");
  std::string pack;
  {
    std::lock_guard lock(index_mu);
    pack = packs[e->pack].hex();
  }
  return decode_blob(id, *e, backend->load_range(file_name("data", pack), e->offset, e->length));
}

// ---- writing ------------------------------------------------------------------------------------------------

Id RepositoryImpl::save_blob(BlobType type, std::string_view plaintext) {
  return save_blob(type, sha256(plaintext), plaintext);
}

Id RepositoryImpl::save_blob(BlobType type, const Id& id, std::string_view plaintext) {
  {
    std::lock_guard lock(index_mu);
    if (index.count(id) || !inflight.insert(id).second) return id;
  }
  // One per-thread buffer: the chunk is compressed straight into it and sealed in place, so a chunk (up to
  // 8 MiB) is never held in two more copies. Not a std::string: resizing one zero-filled it for every blob.
  struct Buffer {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
  };
  thread_local Buffer buf;
  uint32_t ulen = 0;
  size_t size = plaintext.size();
  if (buf.capacity < size + kCryptoOverhead) {
    // In steps of 1 MiB: chunks of every size between 512 KiB and a few MiB follow each other, and a new buffer
    // for each larger one faulted its pages in again.
    constexpr size_t kStep = 1 << 20;
    buf.data.reset();
    buf.capacity = (size + kCryptoOverhead + kStep - 1) / kStep * kStep;
    buf.data.reset(new char[buf.capacity]);
  }
  auto* out = reinterpret_cast<uint8_t*>(buf.data.get());
  if (config.version >= 2 && size > 0) {
    // Compressed only when that makes it smaller (incompressible data is stored as it is, valid in version 2,
    // and restoring it then costs no decompression).
    size_t z = zstd_compress_to(plaintext, size < kSmallBlob ? kZstdLevelSmall : kZstdLevel, buf.data.get() + 16, size - 1);
    if (z > 0) ulen = static_cast<uint32_t>(size), size = z;
  }
  // Sealed where it lies when compressed; stored as it is, encrypted from the chunk straight into the buffer.
  if (ulen != 0) seal_in_place(key, out, size);
  else seal(key, plaintext, out);
  std::string_view sealed(buf.data.get(), size + kCryptoOverhead);
  bytes_added += sealed.size();
  ++blobs_added;
  (type == BlobType::Tree ? tree_packer : data_packer)->add(id, sealed, ulen);
  if (buf.capacity > (4u << 20)) buf = Buffer();  // after a rare large chunk
  return id;
}

Packer::~Packer() {
  for (auto& p : idle_) repo_.backend->discard_temp(p.file);
}

void Packer::add(const Id& id, std::string_view sealed, uint32_t uncompressed_length) {
  std::optional<Open> open;
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return flushing_ == 0; });
    if (!idle_.empty()) {
      open = std::move(idle_.back());
      idle_.pop_back();
    }
    ++busy_;
  }
  // Back among the idle packs whatever happens (a failed write's temporary file is still removed), once it is
  // handed over when full.
  struct Return {
    Packer& packer;
    std::optional<Open>& open;
    ~Return() {
      {
        std::lock_guard lock(packer.mu_);
        if (open) packer.idle_.push_back(std::move(*open));
        --packer.busy_;
      }
      packer.changed_.notify_all();
    }
  } give_back{*this, open};
  if (!open) {
    open.emplace();
    open->file = repo_.backend->create_temp();
  }
  Open& p = *open;
  size_t done = 0;
  while (done < sealed.size()) {
    ssize_t n = ::pwrite(p.file.fd, sealed.data() + done, sealed.size() - done, static_cast<off_t>(p.size + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(sys_error("cannot write a temporary pack file", p.file.path.empty() ? "in $TMPDIR" : p.file.path));
    done += static_cast<size_t>(n);
  }
  p.hash->update(sealed);
  p.blobs.push_back({id, type_, static_cast<uint32_t>(p.size), static_cast<uint32_t>(sealed.size()), uncompressed_length});
  p.size += sealed.size();
  if (p.size < kPackSize) return;
  Open full = std::move(p);
  open.reset();
  hand_over(std::move(full));
}

void Packer::flush() {
  std::vector<Open> open;
  {
    std::unique_lock lock(mu_);
    ++flushing_;
    changed_.wait(lock, [&] { return busy_ == 0; });
    open.swap(idle_);
    --flushing_;
  }
  changed_.notify_all();
  for (auto& p : open) {
    if (!p.blobs.empty()) hand_over(std::move(p));
    else repo_.backend->discard_temp(p.file);
  }
}

void Packer::hand_over(Open pack) {
  auto shared = std::make_shared<Open>(std::move(pack));
  repo_.uploads.submit([this, shared] {
    struct Discard {
      Backend& b;
      TempFile& f;
      ~Discard() { b.discard_temp(f); }
    } discard{*repo_.backend, shared->file};
    repo_.finish_pack(shared->file, shared->size, *shared->hash, std::move(shared->blobs));
  });
}

void RepositoryImpl::finish_pack(TempFile& file, uint64_t size, Sha256Stream& hash, std::vector<PackedBlob> blobs) {
  std::string tail = encrypt(key, encode_pack_header(blobs));
  uint32_t n = static_cast<uint32_t>(tail.size());
  char le[4] = {char(n), char(n >> 8), char(n >> 16), char(n >> 24)};
  tail.append(le, 4);
  for (size_t done = 0; done < tail.size();) {
    ssize_t w = ::pwrite(file.fd, tail.data() + done, tail.size() - done, static_cast<off_t>(size + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw std::runtime_error(sys_error("cannot write a temporary pack file", file.path));
    done += static_cast<size_t>(w);
  }
  hash.update(tail);
  Id pack_id = hash.finish();
  backend->save_temp(file_name("data", pack_id.hex()), file, size + tail.size());
  {
    std::lock_guard lock(index_mu);
    auto [it, fresh] = pack_numbers.try_emplace(pack_id, static_cast<uint32_t>(packs.size()));
    if (fresh) packs.push_back(pack_id);
    for (const auto& b : blobs) {
      index.try_emplace(b.id, IndexEntry{it->second, b.offset, b.length, b.uncompressed_length, b.type});
      inflight.erase(b.id);
    }
    pending.packs.push_back({pack_id, std::move(blobs)});
    pending_blobs += pending.packs.back().blobs.size();
  }
  // Index files go out as they fill, not all at the end: the last one's JSON is then small, and a crashed
  // backup's packs are already indexed.
  if (index_as_packs_complete) save_pending_index(false);
}

void RepositoryImpl::save_pending_index(bool force) {
  IndexFile file;
  {
    std::lock_guard lock(index_mu);
    if (pending.packs.empty() || (!force && pending_blobs < kIndexBlobsPerFile)) return;
    file.packs.swap(pending.packs);
    pending_blobs = 0;
  }
  Id id = save_unpacked("index", index_json(file));
  std::lock_guard lock(index_mu);
  index_files.push_back(id);
}

void RepositoryImpl::flush_packs() {
  data_packer->flush();
  tree_packer->flush();
  uploads.wait();
}

void RepositoryImpl::flush() {
  flush_packs();
  save_pending_index(true);
}

// ---- locks --------------------------------------------------------------------------------------------------

std::unique_ptr<RepoLock> RepositoryImpl::lock(bool exclusive, std::chrono::seconds wait) {
  return std::make_unique<RepoLock>(*this, exclusive, wait);
}

namespace {
constexpr auto kStaleAfter = std::chrono::minutes(30);
constexpr auto kRefreshEvery = std::chrono::minutes(5);
}  // namespace

RepoLock::RepoLock(RepositoryImpl& repo, bool exclusive, std::chrono::seconds wait)
    : repo_(repo), exclusive_(exclusive) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    std::string holder = conflict();
    if (holder.empty()) {
      create();
      // Someone may have locked at the same moment: look again, and back off if so (restic does the same).
      holder = conflict();
      if (holder.empty()) break;
      repo_.backend->remove(file_name("locks", id_.hex()));
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("repository " + repo_.backend->describe() + " is already locked " + holder);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  refresher_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kRefreshEvery, [&] { return stop_; })) {
      Id old = id_;
      try {
        create();
        repo_.backend->remove(file_name("locks", old.hex()));
      } catch (...) {
        // A failed refresh leaves the old lock; it only goes stale if refreshing keeps failing for 30 minutes.
      }
    }
  });
}

RepoLock::~RepoLock() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  try {
    repo_.backend->remove(file_name("locks", id_.hex()));
  } catch (...) {
  }
}

void RepoLock::create() {
  Lock l;
  l.time = Time::now();
  l.exclusive = exclusive_;
  l.hostname = hostname();
  l.username = username();
  l.pid = ::getpid();
  l.uid = ::getuid();
  l.gid = ::getgid();
  id_ = repo_.save_unpacked("locks", lock_json(l));
}

std::string RepoLock::conflict() {
  Time now = Time::now();
  std::string me = hostname();
  for (const auto& f : repo_.backend->list("locks")) {
    if (!id_.null() && f.name == id_.hex()) continue;
    Lock l;
    try {
      l = parse_lock(repo_.load_unpacked("locks", f.name));
    } catch (...) {
      continue;  // removed meanwhile, or unreadable: not a live lock
    }
    bool stale = now.sec - l.time.sec > std::chrono::duration_cast<std::chrono::seconds>(kStaleAfter).count();
    if (!stale && l.hostname == me && l.pid > 0 && ::kill(static_cast<pid_t>(l.pid), 0) != 0 && errno == ESRCH)
      stale = true;
    if (stale) continue;
    if (exclusive_ || l.exclusive)
      return std::string(l.exclusive ? "exclusively " : "") + "by PID " + std::to_string(l.pid) + " on " +
             l.hostname + " since " + format_time(l.time) + " (lock " + f.name.substr(0, 8) + ")";
  }
  return "";
}

size_t unlock(Repository& repo, const std::function<bool(const std::string& hostname, int64_t pid)>& also_remove) {
  auto& r = repo.impl();
  Time now = Time::now();
  std::string me = hostname();
  size_t removed = 0;
  for (const auto& f : r.backend->list("locks")) {
    Lock l;
    try {
      l = parse_lock(r.load_unpacked("locks", f.name));
    } catch (...) {
      continue;  // removed meanwhile
    }
    bool stale = now.sec - l.time.sec > std::chrono::duration_cast<std::chrono::seconds>(kStaleAfter).count();
    if (!stale && l.hostname == me && l.pid > 0 && ::kill(static_cast<pid_t>(l.pid), 0) != 0 && errno == ESRCH)
      stale = true;
    if (!stale && !(also_remove && also_remove(l.hostname, l.pid))) continue;
    r.backend->remove(file_name("locks", f.name));
    ++removed;
  }
  return removed;
}

// ---- snapshots ----------------------------------------------------------------------------------------------

std::vector<SnapshotInfo> list_snapshots(Repository& repo) {
  std::vector<SnapshotInfo> out;
  for (const auto& [id, s] : repo.impl().load_snapshots())
    out.push_back({id.hex(), format_time(s.time), s.hostname, s.paths, s.tags, s.tree.hex(),
                   s.parent ? s.parent->hex() : ""});
  return out;
}

bool reusable(Repository& repository) {
  RepositoryImpl& r = repository.impl();
  try {
    std::string plain;
    if (!decrypt(r.key, r.backend->load("config"), plain)) return false;
    return parse_config(decode_unpacked(plain)).id == r.config.id;
  } catch (const std::exception&) {
    return false;
  }
}

std::string find_snapshot(Repository& repo, const std::string& ref) {
  auto all = repo.impl().backend->list("snapshots");
  if (ref == "latest") {
    auto snaps = repo.impl().load_snapshots();
    if (snaps.empty()) throw std::runtime_error("repository " + repo.describe() + " has no snapshots");
    return snaps.back().first.hex();
  }
  std::string match;
  for (const auto& f : all) {
    if (f.name.rfind(ref, 0) != 0) continue;
    if (!match.empty()) throw std::runtime_error("snapshot ID prefix \"" + ref + "\" is ambiguous");
    match = f.name;
  }
  if (match.empty() || ref.empty()) throw std::runtime_error("no snapshot matches \"" + ref + "\"");
  return match;
}

ProgressReporter::ProgressReporter(ProgressFn sink, std::function<void(Progress&)> fill)
    : sink_(std::move(sink)), fill_(std::move(fill)) {
  if (!sink_) return;
  thread_ = std::thread([this] {
    std::unique_lock l(mu_);
    while (!cv_.wait_for(l, std::chrono::seconds(1), [&] { return stop_.load(); })) report(false);
  });
}

void ProgressReporter::report(bool final) {
  Progress p;
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fill_(p);
  p.final = final;
  sink_(p);
}

void ProgressReporter::stop() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressReporter::finish() {
  stop();
  if (sink_) report(true);
}

std::string format_progress(const Progress& p) {
  auto size = [](double b) {
    char buf[32];
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) b /= 1024, ++u;
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return std::string(buf);
  };
  auto clock = [](double s) {
    char buf[32];
    long t = static_cast<long>(s);
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return std::string(buf);
  };
  std::string out = "[" + clock(p.seconds) + "] " + std::to_string(p.files_done);
  if (p.files_total) out += " / " + std::to_string(p.files_total);
  out += " files, " + size(static_cast<double>(p.bytes_done));
  if (p.bytes_total) out += " / " + size(static_cast<double>(p.bytes_total));
  double rate = p.seconds > 0 ? static_cast<double>(p.bytes_done) / p.seconds : 0;
  out += ", " + size(rate) + "/s";
  if (!p.final && p.bytes_total > p.bytes_done && rate > 0)
    out += ", ETA " + clock(static_cast<double>(p.bytes_total - p.bytes_done) / rate);
  return out;
}

}  // namespace arca::repo
