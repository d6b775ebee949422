// check, forget and prune. Prune follows restic's rules for removing data (restic's doc/design.rst, "Read and
// Write Ordering"): an exclusive lock first; new packs, then an index that supersedes the old ones, then the old
// index files, and only then the packs that nothing references any more.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include "repo/pool.h"
#include "repo/repo_impl.h"

namespace arca::repo {
namespace {

// Every blob reachable from the snapshots: trees and data. Throws when a tree cannot be loaded, so that prune
// never decides on an incomplete picture.
void mark(RepositoryImpl& repo, const Id& tree, std::unordered_set<Id, IdHash>& trees, std::unordered_set<Id, IdHash>& data) {
  std::vector<Id> stack{tree};
  while (!stack.empty()) {
    Id id = stack.back();
    stack.pop_back();
    if (!trees.insert(id).second) continue;
    for (const auto& n : parse_tree(repo.load_blob(id))) {
      for (const auto& c : n.content) data.insert(c);
      if (n.subtree) stack.push_back(*n.subtree);
    }
  }
}

uint64_t pack_size(const std::vector<PackedBlob>& blobs) {
  uint64_t size = 4 + kCryptoOverhead;
  for (const auto& b : blobs) size += b.length + (b.uncompressed_length ? 41 : 37);
  return size;
}

}  // namespace

CheckResult check(Repository& repository, const CheckOptions& opt, std::ostream& log) {
  RepositoryImpl& repo = repository.impl();
  CheckResult r;
  std::mutex mu;  // errors come from the pack readers too
  auto error = [&](const std::string& e) {
    std::lock_guard l(mu);
    r.errors.push_back(e);
    log << "error: " << e << "\n";
  };
  auto snaps = repo.load_snapshots();  // snapshots before the index (restic's read order)
  r.snapshots = snaps.size();
  log << "load indexes\n";
  std::map<Id, std::vector<PackedBlob>> indexed;
  for (const auto& f : repo.backend->list("index")) {
    try {
      for (auto& p : parse_index(repo.load_unpacked("index", f.name)).packs) indexed[p.id] = std::move(p.blobs);
    } catch (const std::exception& e) {
      error(std::string("index ") + f.name + ": " + e.what());
    }
  }
  repo.load_index();
  log << "check all packs\n";
  std::map<Id, uint64_t> on_disk;
  for (const auto& f : repo.backend->list("data")) {
    try {
      on_disk[Id::parse(f.name)] = f.size;
    } catch (const std::exception&) {
      error("unexpected file " + file_name("data", f.name) + " in data/");
    }
  }
  r.packs = on_disk.size();
  for (const auto& [id, blobs] : indexed) {
    auto it = on_disk.find(id);
    std::string name = file_name("data", id.hex());
    if (it == on_disk.end()) error("pack " + name + " is listed in the index but missing");
    else if (it->second != pack_size(blobs))
      error("pack " + name + ": size " + std::to_string(it->second) + " differs from the " +
            std::to_string(pack_size(blobs)) + " its index entries imply (truncated or damaged)");
  }
  size_t orphans = 0;
  for (const auto& [id, size] : on_disk)
    if (!indexed.count(id)) ++orphans;
  if (orphans) log << orphans << " pack(s) not referenced by any index (left by an interrupted backup; prune removes them)\n";

  log << "check snapshots, trees and blobs\n";
  std::unordered_set<Id, IdHash> trees;
  for (const auto& [sid, s] : snaps) {
    std::vector<Id> stack{s.tree};
    while (!stack.empty()) {
      Id id = stack.back();
      stack.pop_back();
      if (!trees.insert(id).second) continue;
      std::vector<Node> nodes;
      try {
        nodes = parse_tree(repo.load_blob(id));
      } catch (const std::exception& e) {
        error("snapshot " + sid.short_hex() + ": tree " + id.hex() + ": " + e.what());
        continue;
      }
      for (const auto& n : nodes) {
        if (n.type == "file")
          for (const auto& c : n.content)
            if (!repo.lookup(c)) error("tree " + id.hex() + ": file \"" + n.name + "\" blob " + c.hex() + " not in index");
        if (n.type == "dir") {
          if (!n.subtree) error("tree " + id.hex() + ": dir \"" + n.name + "\" has no subtree");
          else stack.push_back(*n.subtree);
        }
      }
    }
  }
  r.trees = trees.size();

  if (opt.read_data) {
    log << "read all data\n";
    std::atomic<uint64_t> blobs{0};
    {
      TaskPool pool(default_threads(), 4);
      for (const auto& [pid, size] : on_disk) {
        pool.submit([&, pid = pid] {
          std::string name = file_name("data", pid.hex());
          std::string pack;
          try {
            pack = repo.backend->load(name);
          } catch (const std::exception& e) {
            return error("pack " + name + ": " + e.what());
          }
          if (sha256(pack) != pid) error("pack " + name + ": content does not match its name (damaged)");
          std::vector<PackedBlob> entries;
          try {
            entries = read_pack_header(repo.key, pack);
          } catch (const std::exception& e) {
            return error("pack " + name + ": " + e.what());
          }
          auto* t = reinterpret_cast<const uint8_t*>(pack.data() + pack.size() - 4);  // read_pack_header checked it
          uint64_t hlen = uint32_t(t[0]) | uint32_t(t[1]) << 8 | uint32_t(t[2]) << 16 | uint32_t(t[3]) << 24;
          auto idx = indexed.find(pid);
          if (idx != indexed.end()) {
            auto sorted = [](std::vector<PackedBlob> v) {
              std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
              return v;
            };
            auto a = sorted(entries), b = sorted(idx->second);
            bool same = a.size() == b.size();
            for (size_t i = 0; same && i < a.size(); ++i)
              same = a[i].id == b[i].id && a[i].offset == b[i].offset && a[i].length == b[i].length && a[i].type == b[i].type;
            if (!same) error("pack " + name + ": header does not match the index");
          }
          for (const auto& e : entries) {
            if (uint64_t(e.offset) + e.length > pack.size() - 4 - hlen) {
              error("pack " + name + ": blob " + e.id.hex() + " lies outside the pack");
              continue;
            }
            try {
              open_blob(repo.key, e, std::string_view(pack).substr(e.offset, e.length));
            } catch (const std::exception& ex) {
              error("pack " + name + ": blob " + e.id.hex() + ": " + ex.what());
            }
            ++blobs;
          }
        });
      }
      pool.wait();
    }
    r.blobs_read = blobs;
  }
  log << (r.errors.empty() ? "no errors were found\n" : std::to_string(r.errors.size()) + " error(s) found\n");
  return r;
}

ForgetResult forget(Repository& repository, const ForgetPolicy& policy) {
  RepositoryImpl& repo = repository.impl();
  bool by_policy = policy.keep_last || policy.keep_hourly || policy.keep_daily || policy.keep_weekly ||
                   policy.keep_monthly || policy.keep_yearly || !policy.keep_tags.empty();
  if (!by_policy && policy.snapshot_ids.empty())
    throw std::invalid_argument("no policy and no snapshot IDs given: nothing would be removed");
  auto lock = repo.lock(true, std::chrono::seconds(0));
  auto snaps = repo.load_snapshots();
  std::set<Id> remove;
  for (const auto& ref : policy.snapshot_ids) remove.insert(Id::parse(find_snapshot(repository, ref)));
  ForgetResult r;
  if (by_policy) {
    // restic groups by host and paths and applies the policy inside each group, newest first.
    std::map<std::pair<std::string, std::vector<std::string>>, std::vector<const std::pair<Id, Snapshot>*>> groups;
    for (const auto& s : snaps) groups[{s.second.hostname, s.second.paths}].push_back(&s);
    for (auto& [key, list] : groups) {
      std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->second.time > b->second.time; });
      struct Rule {
        int left;
        const char* format;
        std::string last;
      };
      std::vector<Rule> rules = {{policy.keep_last, nullptr, ""},       {policy.keep_hourly, "%Y%m%d%H", ""},
                                 {policy.keep_daily, "%Y%m%d", ""},     {policy.keep_weekly, "%G%V", ""},
                                 {policy.keep_monthly, "%Y%m", ""},     {policy.keep_yearly, "%Y", ""}};
      for (auto* s : list) {
        bool keep = false;
        for (const auto& tag : policy.keep_tags)
          if (std::find(s->second.tags.begin(), s->second.tags.end(), tag) != s->second.tags.end()) keep = true;
        time_t t = static_cast<time_t>(s->second.time.sec);
        struct tm tm;
        gmtime_r(&t, &tm);
        for (auto& rule : rules) {
          if (rule.left <= 0) continue;
          std::string bucket = s->first.hex();
          if (rule.format) {
            char buf[32];
            std::strftime(buf, sizeof buf, rule.format, &tm);
            bucket = buf;
          }
          if (bucket != rule.last) {
            rule.last = bucket;
            --rule.left;
            keep = true;
          }
        }
        if (!keep) remove.insert(s->first);
      }
    }
  }
  for (const auto& [id, s] : snaps) (remove.count(id) ? r.removed : r.kept).push_back(id.hex());
  if (!policy.dry_run)
    for (const auto& id : remove) repo.backend->remove(file_name("snapshots", id.hex()));
  return r;
}

PruneResult prune(Repository& repository, std::ostream& log, bool dry_run) {
  RepositoryImpl& repo = repository.impl();
  auto lock = repo.lock(true, std::chrono::seconds(0));
  PruneResult r;
  auto snaps = repo.load_snapshots();
  // The full index, every pack with every blob (the in-memory map keeps one location per blob).
  std::map<Id, std::vector<PackedBlob>> indexed;
  std::vector<Id> old_index_files;
  for (const auto& f : repo.backend->list("index")) {
    for (auto& p : parse_index(repo.load_unpacked("index", f.name)).packs) indexed[p.id] = std::move(p.blobs);
    old_index_files.push_back(Id::parse(f.name));
  }
  repo.load_index();
  log << "loading " << snaps.size() << " snapshot(s), marking the data they use\n";
  std::unordered_set<Id, IdHash> trees, data;
  for (const auto& [sid, s] : snaps) mark(repo, s.tree, trees, data);

  std::map<Id, uint64_t> on_disk;
  for (const auto& f : repo.backend->list("data")) on_disk[Id::parse(f.name)] = f.size;
  for (const auto& [id, size] : on_disk) r.bytes_before += size;

  std::unordered_set<Id, IdHash> kept;  // blobs that have a home in the new index
  std::vector<Id> keep_packs, drop_packs;
  std::vector<std::pair<Id, std::vector<PackedBlob>>> repack;
  for (const auto& [pid, blobs] : indexed) {
    if (!on_disk.count(pid)) continue;  // missing pack: nothing to keep or delete
    std::vector<PackedBlob> used;
    for (const auto& b : blobs) {
      bool needed = b.type == BlobType::Tree ? trees.count(b.id) : data.count(b.id);
      if (needed && kept.insert(b.id).second) used.push_back(b);
    }
    r.blobs_removed += blobs.size() - used.size();
    if (used.size() == blobs.size()) keep_packs.push_back(pid);
    else if (used.empty()) drop_packs.push_back(pid);
    else repack.emplace_back(pid, std::move(used));
  }
  for (const auto& [pid, size] : on_disk)
    if (!indexed.count(pid)) drop_packs.push_back(pid);  // unindexed: left by an interrupted backup
  for (const auto& id : trees)
    if (!kept.count(id)) throw std::runtime_error("tree " + id.hex() + " is used but in no pack: run check; nothing was removed");
  for (const auto& id : data)
    if (!kept.count(id)) throw std::runtime_error("blob " + id.hex() + " is used but in no pack: run check; nothing was removed");

  r.packs_deleted = drop_packs.size();
  r.packs_rewritten = repack.size();
  if (dry_run) {
    // restic's `prune --dry-run`: the plan and its outcome, nothing written or removed. The rewritten packs'
    // size is their kept blobs plus a header entry each (restic's estimate too).
    r.bytes_after = r.bytes_before;
    for (const auto& pid : drop_packs) r.bytes_after -= on_disk[pid];
    for (const auto& [pid, used] : repack) {
      r.bytes_after -= on_disk[pid];
      for (const auto& b : used) r.bytes_after += b.length + (b.uncompressed_length ? 41 : 37);
    }
    log << "would repack " << repack.size() << " pack(s), delete " << drop_packs.size() << " unused pack(s) and remove "
        << r.blobs_removed << " blob(s); repository data " << r.bytes_before << " → about " << r.bytes_after
        << " bytes\n";
    return r;
  }
  log << "repacking " << repack.size() << " pack(s), deleting " << drop_packs.size() << " unused pack(s)\n";
  {
    std::lock_guard l(repo.index_mu);
    repo.pending = {};
    repo.pending_blobs = 0;
    repo.index_as_packs_complete = false;
  }
  for (const auto& [pid, used] : repack) {
    std::string pack = repo.backend->load(file_name("data", pid.hex()));
    for (const auto& b : used) {
      if (uint64_t(b.offset) + b.length > pack.size())
        throw std::runtime_error("pack " + file_name("data", pid.hex()) + " is shorter than its index says; nothing was removed");
      std::string sealed = pack.substr(b.offset, b.length);
      // Verify before relying on the copy: a damaged blob must not replace the last good reference.
      repo.decode_blob(b.id, IndexEntry{repo.pack_numbers.at(pid), b.offset, b.length, b.uncompressed_length, b.type}, sealed);
      (b.type == BlobType::Tree ? repo.tree_packer : repo.data_packer)->add(b.id, std::move(sealed), b.uncompressed_length);
    }
  }
  repo.flush_packs();
  // The new index: kept packs as they were, plus the rewritten ones; it supersedes every old index file.
  IndexFile all;
  for (const auto& pid : keep_packs) all.packs.push_back({pid, indexed[pid]});
  {
    std::lock_guard l(repo.index_mu);
    for (auto& p : repo.pending.packs) all.packs.push_back(std::move(p));
    repo.pending = {};
  }
  IndexFile part;
  part.supersedes = old_index_files;
  size_t blobs_in_part = 0;
  std::set<Id> new_index_files;
  for (auto& p : all.packs) {
    blobs_in_part += p.blobs.size();
    part.packs.push_back(std::move(p));
    if (blobs_in_part >= kIndexBlobsPerFile) {
      new_index_files.insert(repo.save_unpacked("index", index_json(part)));
      part.packs.clear();
      blobs_in_part = 0;
    }
  }
  if (!part.packs.empty() || new_index_files.empty()) new_index_files.insert(repo.save_unpacked("index", index_json(part)));
  for (const auto& id : old_index_files)
    if (!new_index_files.count(id)) repo.backend->remove(file_name("index", id.hex()));
  for (const auto& pid : drop_packs) repo.backend->remove(file_name("data", pid.hex()));
  for (const auto& [pid, used] : repack) repo.backend->remove(file_name("data", pid.hex()));
  for (const auto& f : repo.backend->list("data")) r.bytes_after += f.size;
  log << "removed " << r.blobs_removed << " blob(s); repository data " << r.bytes_before << " → " << r.bytes_after
      << " bytes\n";
  return r;
}

}  // namespace arca::repo
