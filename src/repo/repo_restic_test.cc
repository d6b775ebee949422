// Compatibility of arca's repositories with Debian's real `restic` (0.14, repository format version 2), run as
// a separate process on the same repository: each reads, checks and restores what the other wrote.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <atomic>
#include <csignal>
#include <cstring>
#include <thread>

#include "repo/format.h"
#include "repo/repo_impl.h"
#include "repo/repository.h"
#include "store/local_store.h"
#include "store/location.h"
#include "store/object_store.h"
#include "tests/support/object_servers.h"
#include "tests/support/process.h"

namespace fs = std::filesystem;
using namespace arca;
using nlohmann::json;

namespace {

constexpr auto kTimeout = std::chrono::seconds(60);

struct Cmd {
  int status = -1;
  std::string output;
};

class RepoResticTest : public ::testing::Test {
 protected:
  testsupport::TempDir dir;
  std::string arca = testsupport::build_dir() + "/src/cli/arca";
  std::string pwfile = dir.file("password");
  int runs = 0;

  void SetUp() override { write(pwfile, "correct horse battery staple"); }

  static void write(const std::string& path, const std::string& data) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << data;
  }

  // Runs argv in `cwd` with the repository password in RESTIC_PASSWORD_FILE; stdout and stderr together.
  Cmd run(const std::vector<std::string>& argv, const std::string& cwd = "", const std::string& pw = "",
          std::map<std::string, std::string> env = {}) {
    std::string log = dir.file("run" + std::to_string(++runs) + ".log");
    std::vector<std::string> cmd = argv;
    if (!cwd.empty()) {
      std::string line = "cd '" + cwd + "' && exec";
      for (const auto& a : argv) line += " '" + a + "'";
      cmd = {"sh", "-c", line};
    }
    env["RESTIC_PASSWORD_FILE"] = pw.empty() ? pwfile : pw;
    env["RESTIC_CACHE_DIR"] = dir.file("cache");
    testsupport::ChildProcess p(cmd, log, env);
    int st = p.wait(kTimeout);
    Cmd r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, testsupport::read_file(log)};
    return r;
  }
  Cmd ok(const std::vector<std::string>& argv, const std::string& cwd = "") {
    Cmd r = run(argv, cwd);
    EXPECT_EQ(r.status, 0) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << r.output;
    return r;
  }

  // A small tree with every kind of entry the format records; a few MB so the chunker cuts big.bin.
  std::string make_tree(const std::string& name, uint64_t seed = 1) {
    std::string root = dir.file(name);
    std::mt19937_64 rng(seed);
    std::string big(5 << 20, '\0');
    for (auto& c : big) c = static_cast<char>(rng());
    write(root + "/big.bin", big);
    std::string text;
    for (int i = 0; i < 40000; ++i) text += "line " + std::to_string(i % 97) + " of a compressible text file\n";
    write(root + "/docs/text.txt", text);
    write(root + "/docs/empty", "");
    write(root + "/docs/deeper/small.txt", "small\n");
    for (int i = 0; i < 20; ++i) write(root + "/many/f" + std::to_string(i), std::string(i * 100, 'a' + i));
    fs::create_symlink("../big.bin", root + "/docs/link");
    fs::create_symlink("/nonexistent/absolute", root + "/docs/abs-link");
    fs::create_hard_link(root + "/docs/deeper/small.txt", root + "/docs/hard");
    // Extended attributes on a large file, a small one and a directory (where the file system has user ones).
    for (const char* p : {"/big.bin", "/many/f5", "/docs/deeper"})
      ::setxattr((root + p).c_str(), "user.arca.test", p, std::strlen(p), 0);
    ::setxattr((root + "/many/f5").c_str(), "user.second", "\0\1", 2, 0);
    ::chmod((root + "/docs/deeper").c_str(), 0750);
    ::chmod((root + "/big.bin").c_str(), 0600);
    ::chmod((root + "/many/f3").c_str(), 04755);
    struct timespec times[2] = {{1000000000, 123456789}, {981173106, 987654321}};
    ::utimensat(AT_FDCWD, (root + "/docs/text.txt").c_str(), times, 0);
    ::utimensat(AT_FDCWD, (root + "/docs/link").c_str(), times, AT_SYMLINK_NOFOLLOW);
    ::utimensat(AT_FDCWD, (root + "/docs/deeper").c_str(), times, 0);
    return root;
  }

  // Everything restore must reproduce, per relative path: type, mode, owner, size, mtime (ns), link target,
  // content hash, and which paths share an inode.
  static std::map<std::string, std::string> describe(const std::string& root) {
    std::map<std::string, std::string> out;
    std::map<ino_t, std::string> inodes;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      std::string rel = fs::relative(it->path(), root).string();
      struct stat st;
      ::lstat(it->path().c_str(), &st);
      std::string d = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
                      " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
      if (S_ISREG(st.st_mode)) {
        d += " size=" + std::to_string(st.st_size) + " sha=" + repo::sha256(testsupport::read_file(it->path())).hex();
        if (st.st_nlink > 1) {
          auto [i, fresh] = inodes.try_emplace(st.st_ino, rel);
          d += " links-with=" + i->second;
        }
      }
      if (S_ISLNK(st.st_mode)) d += " -> " + fs::read_symlink(it->path()).string();
      char names[1024];
      ssize_t n = ::llistxattr(it->path().c_str(), names, sizeof names);
      std::set<std::string> xattrs;
      for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
        char value[256];
        ssize_t v = ::lgetxattr(it->path().c_str(), names + i, value, sizeof value);
        if (v >= 0) xattrs.insert(std::string(names + i) + "=" + std::string(value, static_cast<size_t>(v)));
      }
      for (const auto& x : xattrs) d += " xattr " + x;
      out[rel] = d;
    }
    return out;
  }

  // init, backup, check --read-data, snapshots and restore through the command line at `repo` with `env`.
  void cli_round_trip(const std::string& repo, const std::map<std::string, std::string>& env, uint64_t seed) {
    std::string src = make_tree("src", seed);
    auto arca_ok = [&](const std::vector<std::string>& args) {
      Cmd r = run(args, "", "", env);
      EXPECT_EQ(r.status, 0) << r.output;
      return r;
    };
    arca_ok({arca, "repo", "init", "-r", repo});
    std::string id = json::parse(arca_ok({arca, "repo", "backup", "-q", "--json", "-r", repo, src}).output).at("snapshot_id");
    arca_ok({arca, "repo", "check", "--read-data", "-r", repo});
    auto listed = json::parse(arca_ok({arca, "repo", "snapshots", "--json", "-r", repo}).output);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].at("id"), id);
    arca_ok({arca, "repo", "restore", "-q", "latest", "--target", dir.file("out"), "-r", repo});
    EXPECT_EQ(describe(dir.file("out")), describe(src));
  }

  std::vector<std::string> restic_snapshot_ids(const std::string& repo) {
    Cmd r = ok({"restic", "-r", repo, "snapshots", "--json", "-q"});
    std::vector<std::string> ids;
    for (const auto& s : json::parse(r.output)) ids.push_back(s.at("id"));
    return ids;
  }

  static uint64_t dir_size(const std::string& path) {
    uint64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(path))
      if (e.is_regular_file()) n += e.file_size();
    return n;
  }
};

TEST_F(RepoResticTest, ResticChecksAndRestoresWhatArcaWrote) {
  std::string src = make_tree("src"), repo = dir.file("repo");
  ok({arca, "repo", "init", "-r", repo});
  Cmd b = ok({arca, "repo", "backup", "-q", "--json", "-r", repo, src});
  std::string id = json::parse(b.output.substr(b.output.find('{'))).at("snapshot_id");

  Cmd c = ok({"restic", "-r", repo, "check", "--read-data"});
  EXPECT_NE(c.output.find("no errors were found"), std::string::npos) << c.output;
  auto ids = restic_snapshot_ids(repo);
  ASSERT_EQ(ids, std::vector<std::string>{id});

  ok({"restic", "-r", repo, "restore", id, "--target", dir.file("out")});
  auto want = describe(src), got = describe(dir.file("out"));
  EXPECT_EQ(got, want);
  EXPECT_GT(got.size(), 25u);
}

TEST_F(RepoResticTest, ArcaRestoresWhatResticWrote) {
  std::string src = make_tree("src", 2), repo = dir.file("repo");
  ok({"restic", "-r", repo, "init"});
  ok({"restic", "-r", repo, "backup", "."}, src);
  auto ids = restic_snapshot_ids(repo);
  ASSERT_EQ(ids.size(), 1u);

  Cmd s = ok({arca, "repo", "snapshots", "--json", "-r", repo});
  auto listed = json::parse(s.output);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("id"), ids[0]);
  EXPECT_EQ(listed[0].at("paths")[0], src);

  ok({arca, "repo", "check", "--read-data", "-r", repo});
  ok({arca, "repo", "restore", "-q", ids[0].substr(0, 8), "--target", dir.file("out"), "-r", repo});
  EXPECT_EQ(describe(dir.file("out")), describe(src));

  // A sub-path alone: only it (and its parent directories) appear in the target.
  ok({arca, "repo", "restore", "-q", "latest", "--include", "/docs/deeper", "--target", dir.file("part"), "-r", repo});
  EXPECT_EQ(testsupport::read_file(dir.file("part/docs/deeper/small.txt")), "small\n");
  EXPECT_FALSE(fs::exists(dir.file("part/big.bin")));
  EXPECT_FALSE(fs::exists(dir.file("part/docs/text.txt")));
}

TEST_F(RepoResticTest, DataDeduplicatesAcrossTools) {
  std::string src = make_tree("src", 3), repo = dir.file("repo");
  ok({"restic", "-r", repo, "init"});
  ok({"restic", "-r", repo, "backup", "."}, src);
  // arca re-reads every file (--force) and cuts the same chunks with the repository's polynomial: no new data.
  Cmd a = ok({arca, "repo", "backup", "-q", "--json", "--force", "-r", repo, src});
  auto res = json::parse(a.output.substr(a.output.find('{')));
  EXPECT_GT(res.at("bytes_read").get<uint64_t>(), 5u << 20);
  EXPECT_LT(res.at("data_added").get<uint64_t>(), 16u << 10) << "only tree blobs may be new";
  EXPECT_EQ(restic_snapshot_ids(repo).size(), 2u);

  // And the other way round: restic finds arca's chunks already stored.
  std::string repo2 = dir.file("repo2");
  ok({arca, "repo", "init", "-r", repo2});
  ok({arca, "repo", "backup", "-q", "-r", repo2, src});
  Cmd r = ok({"restic", "-r", repo2, "backup", "--force", "--json", "."}, src);
  auto summary = json::parse(r.output.substr(r.output.rfind("{\"message_type\":\"summary\"")));
  EXPECT_LT(summary.at("data_added").get<uint64_t>(), 16u << 10) << r.output;
  EXPECT_GT(summary.at("total_bytes_processed").get<uint64_t>(), 5u << 20);
  ok({"restic", "-r", repo2, "check", "--read-data"});
}

TEST_F(RepoResticTest, SecondBackupSkipsUnchangedFiles) {
  std::string src = make_tree("src", 4), repo = dir.file("repo");
  ok({arca, "repo", "init", "-r", repo});
  ok({arca, "repo", "backup", "-q", "-r", repo, src});
  auto again = json::parse(ok({arca, "repo", "backup", "-q", "--json", "-r", repo, src}).output);
  EXPECT_EQ(again.at("bytes_read").get<uint64_t>(), 0u);
  EXPECT_EQ(again.at("files_new").get<uint64_t>(), 0u);
  EXPECT_EQ(again.at("files_unmodified").get<uint64_t>(), 25u);
  write(src + "/docs/deeper/small.txt", "changed!\n");
  auto third = json::parse(ok({arca, "repo", "backup", "-q", "--json", "-r", repo, src}).output);
  EXPECT_EQ(third.at("files_changed").get<uint64_t>(), 2u);  // small.txt and its hard link
  EXPECT_EQ(third.at("bytes_read").get<uint64_t>(), 18u);
  ok({"restic", "-r", repo, "restore", "latest", "--target", dir.file("out")});
  EXPECT_EQ(describe(dir.file("out")), describe(src));
}

TEST_F(RepoResticTest, WrongPasswordIsOneLine) {
  std::string repo = dir.file("repo");
  ok({arca, "repo", "init", "-r", repo});
  write(dir.file("wrong"), "not it\n");
  Cmd r = run({arca, "repo", "snapshots", "-r", repo}, "", dir.file("wrong"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find("wrong password"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("not it"), std::string::npos);
  // restic says the same about arca's key file with the wrong password, and opens it with the right one.
  EXPECT_NE(run({"restic", "-r", repo, "snapshots"}, "", dir.file("wrong")).status, 0);
  ok({"restic", "-r", repo, "snapshots"});
}

// restic's `key add/remove` in both directions: arca adds a password that restic opens with, removes the old one
// so that restic no longer opens with it, and opens with a key restic added.
TEST_F(RepoResticTest, KeysAddedAndRemovedByArcaAreRestics) {
  std::string src = make_tree("src", 7), repo = dir.file("repo");
  ok({"restic", "-r", repo, "init"});
  ok({"restic", "-r", repo, "backup", "."}, src);
  std::string pw2 = dir.file("pw2"), pw3 = dir.file("pw3");
  write(pw2, "second password\n");
  write(pw3, "third password\n");
  auto keys = [&](const std::string& pw) {
    Cmd r = run({arca, "repo", "key", "list", "--json", "-r", repo}, "", pw);
    EXPECT_EQ(r.status, 0) << r.output;
    return json::parse(r.output.substr(r.output.find('[')));
  };
  auto before = keys(pwfile);
  ASSERT_EQ(before.size(), 1u);
  std::string old_id = before[0]["id"];
  EXPECT_TRUE(before[0]["current"].get<bool>());

  Cmd added = ok({arca, "repo", "key", "add", "-r", repo, "--new-password-file", pw2, "--user", "rotator"});
  EXPECT_NE(added.output.find("saved new key"), std::string::npos) << added.output;
  // restic opens with the new password and lists both keys.
  Cmd snaps = run({"restic", "-r", repo, "snapshots", "--json", "-q"}, "", pw2);
  ASSERT_EQ(snaps.status, 0) << snaps.output;
  EXPECT_EQ(json::parse(snaps.output).size(), 1u);
  Cmd listed = run({"restic", "-r", repo, "key", "list"}, "", pw2);
  ASSERT_EQ(listed.status, 0) << listed.output;
  EXPECT_NE(listed.output.find(old_id.substr(0, 8)), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("rotator"), std::string::npos) << listed.output;
  auto both = keys(pw2);
  ASSERT_EQ(both.size(), 2u);
  for (const auto& k : both) EXPECT_EQ(k["current"].get<bool>(), k["id"] != old_id) << both.dump();

  // The key the password opened cannot go (as restic refuses); through the other one it can.
  Cmd refused = run({arca, "repo", "key", "remove", "-r", repo, old_id.substr(0, 10)});
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("refusing to remove key"), std::string::npos) << refused.output;
  Cmd removed = run({arca, "repo", "key", "remove", "-r", repo, old_id.substr(0, 10)}, "", pw2);
  EXPECT_EQ(removed.status, 0) << removed.output;
  EXPECT_FALSE(fs::exists(repo + "/keys/" + old_id));
  Cmd old = run({"restic", "-r", repo, "snapshots"});
  EXPECT_NE(old.status, 0);
  EXPECT_NE(old.output.find("wrong password"), std::string::npos) << old.output;
  Cmd checked = run({"restic", "-r", repo, "check"}, "", pw2);
  EXPECT_EQ(checked.status, 0) << checked.output;
  Cmd restic_added = run({"restic", "-r", repo, "key", "add", "--new-password-file", pw3}, "", pw2);
  EXPECT_EQ(restic_added.status, 0) << restic_added.output;
  // A key restic added opens the repository for arca.
  Cmd by_restic_key = run({arca, "repo", "snapshots", "-r", repo}, "", pw3);
  EXPECT_EQ(by_restic_key.status, 0) << by_restic_key.output;
  EXPECT_EQ(keys(pw3).size(), 2u);
}

// As restic's key commands: remove takes an exclusive lock, add a shared one. While restic itself holds a lock
// (a backup reading stdin from a FIFO kept open), a key cannot be removed but can be added; once restic is
// done, the removal goes through and leaves no lock behind.
TEST_F(RepoResticTest, KeyRemoveWaitsForNoLockAndKeyAddForNoExclusiveOne) {
  std::string repo = dir.file("repo"), pw2 = dir.file("pw2"), pw3 = dir.file("pw3"), fifo = dir.file("stdin");
  write(pw2, "second password\n");
  write(pw3, "third password\n");
  ok({"restic", "-r", repo, "init"});
  ok({arca, "repo", "key", "add", "-r", repo, "--new-password-file", pw2});
  auto key_count = [&] { return std::distance(fs::directory_iterator(repo + "/keys"), fs::directory_iterator()); };
  ASSERT_EQ(key_count(), 2);
  std::string added_id;  // the key the second password opens
  Cmd list = run({arca, "repo", "key", "list", "--json", "-r", repo}, "", pw2);
  for (const auto& k : json::parse(list.output.substr(list.output.find('['))))
    if (k["current"].get<bool>()) added_id = k["id"];
  ASSERT_FALSE(added_id.empty());

  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Read-write: opening does not wait for restic; close-on-exec: restic must not hold a writer itself.
  int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  testsupport::ChildProcess restic({"sh", "-c", "exec restic -r '" + repo + "' backup --stdin < '" + fifo + "'"},
                                   dir.file("restic-stdin.log"),
                                   {{"RESTIC_PASSWORD_FILE", pwfile}, {"RESTIC_CACHE_DIR", dir.file("cache")}});
  auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (fs::is_empty(repo + "/locks") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(fs::is_empty(repo + "/locks")) << restic.log();

  Cmd refused = run({arca, "repo", "key", "remove", "-r", repo, added_id.substr(0, 10)});
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("already locked"), std::string::npos) << refused.output;
  EXPECT_EQ(key_count(), 2) << "nothing removed";
  Cmd added = run({arca, "repo", "key", "add", "-r", repo, "--new-password-file", pw3});
  EXPECT_EQ(added.status, 0) << added.output;
  EXPECT_EQ(key_count(), 3);

  ASSERT_EQ(::write(writer, "streamed\n", 9), 9);
  ::close(writer);
  int st = restic.wait(kTimeout);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << restic.log();
  Cmd removed = run({arca, "repo", "key", "remove", "-r", repo, added_id.substr(0, 10)});
  EXPECT_EQ(removed.status, 0) << removed.output;
  EXPECT_EQ(key_count(), 2);
  EXPECT_TRUE(fs::is_empty(repo + "/locks")) << "arca's locks are gone";
  Cmd checked = run({"restic", "-r", repo, "check"}, "", pw3);
  EXPECT_EQ(checked.status, 0) << checked.output;
}

TEST_F(RepoResticTest, BitFlippedPackIsReportedByName) {
  std::string src = make_tree("src", 5), repo = dir.file("repo");
  ok({arca, "repo", "init", "-r", repo});
  ok({arca, "repo", "backup", "-q", "-r", repo, src});
  // The biggest pack holds big.bin's data; flip one bit in its middle.
  fs::path victim;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/data"))
    if (e.is_regular_file() && (victim.empty() || e.file_size() > fs::file_size(victim))) victim = e.path();
  ASSERT_FALSE(victim.empty());
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(victim) / 2));
    char c;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(static_cast<std::streamoff>(fs::file_size(victim) / 2));
    f.write(&c, 1);
  }
  std::string name = victim.filename().string();
  Cmd c = run({arca, "repo", "check", "--read-data", "-r", repo});
  EXPECT_NE(c.status, 0);
  EXPECT_NE(c.output.find("data/" + name.substr(0, 2) + "/" + name), std::string::npos) << c.output;
  Cmd r = run({arca, "repo", "restore", "-q", "latest", "--target", dir.file("out"), "-r", repo});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(name), std::string::npos) << r.output;
  // restic agrees that the repository is damaged.
  EXPECT_NE(run({"restic", "-r", repo, "check", "--read-data"}).status, 0);
}

TEST_F(RepoResticTest, RestoreNeverWritesOutsideTheTarget) {
  // restic's own snapshot of links pointing out of the tree: restored as links, never followed.
  std::string src = dir.file("src"), repo = dir.file("repo"), outside = dir.file("outside");
  write(outside + "/victim", "original\n");
  write(src + "/plain", "x\n");
  fs::create_symlink("../../outside/victim", src + "/rel");
  fs::create_symlink(outside + "/victim", src + "/abs");
  fs::create_symlink(outside, src + "/dirlink");
  ok({"restic", "-r", repo, "init"});
  ok({"restic", "-r", repo, "backup", "."}, src);
  ok({arca, "repo", "restore", "-q", "latest", "--target", dir.file("out"), "-r", repo});
  EXPECT_TRUE(fs::is_symlink(dir.file("out/abs")));
  EXPECT_EQ(fs::read_symlink(dir.file("out/rel")).string(), "../../outside/victim");
  EXPECT_EQ(testsupport::read_file(outside + "/victim"), "original\n");

  // A hostile tree (written through the library, since restic never writes one): a symlink "dirlink" to a
  // directory outside, then a directory of the same name holding a file, and a node named "..".
  auto r = repo::open_repository(repo::local_backend(repo), "correct horse battery staple");
  auto& impl = r.impl();
  impl.load_index();
  repo::Node victim;
  victim.name = "victim";
  victim.type = "file";
  victim.mode = 0644;
  victim.size = 6;
  victim.content = {impl.save_blob(repo::BlobType::Data, "owned\n")};
  repo::Node sub;
  sub.name = "dirlink";
  sub.type = "dir";
  sub.mode = repo::kModeDir | 0755;
  sub.subtree = impl.save_blob(repo::BlobType::Tree, repo::tree_json({victim}));
  repo::Node link;
  link.name = "dirlink";
  link.type = "symlink";
  link.linktarget = outside;
  repo::Node dots = sub;
  dots.name = "..";
  for (const auto& nodes : {std::vector<repo::Node>{link, sub}, std::vector<repo::Node>{dots}}) {
    repo::Snapshot s;
    s.time = repo::Time::now();
    s.tree = impl.save_blob(repo::BlobType::Tree, repo::tree_json(nodes));
    s.paths = {"/hostile"};
    impl.flush();
    std::string sid = impl.save_unpacked("snapshots", repo::snapshot_json(s)).hex();
    Cmd bad = run({arca, "repo", "restore", "-q", sid, "--target", dir.file("out2"), "-r", repo});
    EXPECT_NE(bad.status, 0) << bad.output;
    EXPECT_EQ(testsupport::read_file(outside + "/victim"), "original\n");
    EXPECT_FALSE(fs::exists(dir.file("victim")));
  }
}

TEST_F(RepoResticTest, ForgetAndPruneRemoveOnlyUnreferencedData) {
  std::string src = make_tree("src", 6), repo = dir.file("repo");
  ok({arca, "repo", "init", "-r", repo});
  std::string first = json::parse(ok({arca, "repo", "backup", "-q", "--json", "-r", repo, src}).output).at("snapshot_id");
  fs::remove(src + "/big.bin");  // only the first snapshot references its 5 MiB
  write(src + "/new.txt", "new file\n");
  ok({arca, "repo", "backup", "-q", "-r", repo, src});
  uint64_t before = dir_size(repo + "/data");
  // Lock rules: while arca prunes (exclusive lock) restic may not start a backup.
  {
    auto r = repo::open_repository(repo::local_backend(repo), "correct horse battery staple");
    auto lock = r.impl().lock(true, std::chrono::seconds(0));
    Cmd blocked = run({"restic", "-r", repo, "backup", "."}, src);
    EXPECT_NE(blocked.status, 0);
    EXPECT_NE(blocked.output.find("locked"), std::string::npos) << blocked.output;
    Cmd waits = run({arca, "repo", "backup", "-q", "-r", repo, src});
    EXPECT_NE(waits.status, 0);
    EXPECT_NE(waits.output.find("already locked exclusively"), std::string::npos) << waits.output;
  }
  ok({arca, "repo", "forget", first.substr(0, 10), "-r", repo});
  // --dry-run tells what would go and leaves every file of the repository as it was, byte for byte.
  auto contents = [&] {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(repo))
      if (e.is_regular_file()) files[fs::relative(e.path(), repo).string()] = repo::sha256(testsupport::read_file(e.path())).hex();
    return files;
  };
  auto untouched = contents();
  Cmd dry = ok({arca, "repo", "prune", "--dry-run", "-r", repo});
  EXPECT_EQ(contents(), untouched);
  EXPECT_NE(dry.output.find("would repack"), std::string::npos) << dry.output;
  EXPECT_EQ(dry.output.find("would repack 0 pack(s), delete 0 unused"), std::string::npos) << dry.output;
  ok({arca, "repo", "prune", "-r", repo});
  uint64_t after = dir_size(repo + "/data");
  EXPECT_LT(after + (5u << 20) - (64u << 10), before) << before << " → " << after;
  ok({"restic", "-r", repo, "check", "--read-data"});
  ASSERT_EQ(restic_snapshot_ids(repo).size(), 1u);
  ok({"restic", "-r", repo, "restore", "latest", "--target", dir.file("out")});
  EXPECT_EQ(describe(dir.file("out")), describe(src));
}

TEST_F(RepoResticTest, BackupWaitsForAnExclusiveLock) {
  std::string src = make_tree("src", 7), repo = dir.file("repo");
  ok({arca, "repo", "init", "-r", repo});
  auto r = repo::open_repository(repo::local_backend(repo), "correct horse battery staple");
  auto lock = r.impl().lock(true, std::chrono::seconds(0));
  testsupport::ChildProcess backup({arca, "repo", "backup", "-q", "--retry-lock", "60s", "-r", repo, src},
                                   dir.file("wait.log"), {{"RESTIC_PASSWORD_FILE", pwfile}});
  // The backup cannot have finished: it needs the lock. Release it, and the backup completes.
  ASSERT_TRUE(backup.running()) << backup.log();
  EXPECT_TRUE(fs::is_empty(repo + "/snapshots"));
  lock.reset();
  int st = backup.wait(kTimeout);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << backup.log();
  EXPECT_EQ(restic_snapshot_ids(repo).size(), 1u);
}

TEST_F(RepoResticTest, RepositoryInAnObjectStoreUnderVelerosLayout) {
  // The local ObjectStore driver keeps keys as files, so restic can open the very objects arca stored.
  std::string src = make_tree("src", 8);
  fs::create_directories(dir.file("storage/bucket"));
  std::shared_ptr<store::ObjectStore> bucket = store::open_local_store(dir.file("storage"), "bucket");
  std::string prefix = repo::velero_repo_prefix("cluster-a/", "app");
  EXPECT_EQ(prefix, "cluster-a/restic/app");
  {
    auto r = repo::init_repository(repo::store_backend(bucket, prefix), "correct horse battery staple");
    repo::BackupOptions o;
    o.source = src;
    auto res = repo::backup(r, o);
    EXPECT_EQ(res.files_new, 25u);
  }
  std::string path = dir.file("storage/bucket/cluster-a/restic/app");
  ok({"restic", "-r", path, "check", "--read-data"});
  ok({"restic", "-r", path, "restore", "latest", "--target", dir.file("out")});
  EXPECT_EQ(describe(dir.file("out")), describe(src));
  // And back through the store: restic's second snapshot is listed and restored by arca over the ObjectStore.
  ok({"restic", "-r", path, "backup", "--tag", "by-restic", "."}, src);
  auto r = repo::open_repository(repo::store_backend(bucket, prefix), "correct horse battery staple");
  auto snaps = repo::list_snapshots(r);
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[1].tags, std::vector<std::string>{"by-restic"});
  repo::RestoreOptions ro;
  ro.snapshot = snaps[1].id;
  ro.target = dir.file("out2");
  repo::restore(r, ro);
  EXPECT_EQ(describe(dir.file("out2")), describe(src));
}

// Root tree names as stored (JSON-decoded, still Go-quoted), via `restic cat blob`.
TEST_F(RepoResticTest, OddFileNamesRoundTripBetweenResticAndArca) {
  // Names restic 0.14 quotes with Go's strconv.Quote inside its trees: not UTF-8, backslash, quote, controls,
  // non-printable and printable non-ASCII runes. Each tool restores the other's snapshot with the same bytes.
  const std::vector<std::string> names = {"caf\xe9-\xff.txt", "back\\slash", "quo\"te", "new\nline", "tab\there",
                                          "c1-\xc2\x85", "nbsp\xc2\xa0x", "na\xc3\xafve-\xe6\x97\xa5.txt", "del\x7f",
                                          "emoji-\xf0\x9f\x98\x80", "pct%s\\x41"};
  std::string src = dir.file("src");
  for (size_t i = 0; i < names.size(); ++i) write(src + "/" + names[i], "content " + std::to_string(i));
  write(src + "/dir-\xfe/inner-\x01", "inside");
  auto restic_repo = dir.file("restic-repo"), arca_repo = dir.file("arca-repo");
  ok({"restic", "-r", restic_repo, "init"});
  ok({"restic", "-r", restic_repo, "backup", "."}, src);
  ok({arca, "repo", "init", "-r", arca_repo});
  ok({arca, "repo", "backup", "-q", "-r", arca_repo, src});
  ok({arca, "repo", "restore", "-q", "latest", "--target", dir.file("arca-out"), "-r", restic_repo});
  ok({"restic", "-r", arca_repo, "restore", "latest", "--target", dir.file("restic-out")});
  auto expected = describe(src);
  EXPECT_EQ(expected.size(), names.size() + 2);
  EXPECT_EQ(describe(dir.file("arca-out")), expected);
  EXPECT_EQ(describe(dir.file("restic-out")), expected);
  // The stored form is restic's own: the root trees list the same quoted names.
  auto stored_names = [&](const std::string& repo) {
    auto snaps = json::parse(ok({"restic", "-r", repo, "snapshots", "--json", "-q"}).output);
    std::string tree = snaps.at(0).at("tree");
    std::vector<std::string> out;
    json blob = json::parse(ok({"restic", "-r", repo, "cat", "blob", tree}).output);
    for (const auto& n : blob.at("nodes")) out.push_back(n.at("name"));
    return out;
  };
  auto from_restic = stored_names(restic_repo);
  EXPECT_EQ(stored_names(arca_repo), from_restic);
  EXPECT_EQ(from_restic.size(), names.size() + 1);
  EXPECT_NE(std::find(from_restic.begin(), from_restic.end(), "caf\\xe9-\\xff.txt"), from_restic.end()) << json(from_restic).dump();
}

// Counts ranged reads of data packs, forwarding everything to a local directory backend.
class CountingBackend final : public repo::Backend {
 public:
  explicit CountingBackend(std::string dir) : inner_(repo::local_backend(dir)) {}
  std::map<std::string, int> range_reads;  // pack name → ranged reads of it
  void save(const std::string& n, std::string_view d) override { inner_->save(n, d); }
  std::string load(const std::string& n) override { return inner_->load(n); }
  std::string load_range(const std::string& n, uint64_t offset, uint64_t length) override {
    {
      std::lock_guard l(mu_);
      ++range_reads[n];
    }
    return inner_->load_range(n, offset, length);
  }
  bool exists(const std::string& n) override { return inner_->exists(n); }
  std::vector<repo::FileInfo> list(const std::string& t) override { return inner_->list(t); }
  void remove(const std::string& n) override { inner_->remove(n); }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::mutex mu_;
  std::unique_ptr<repo::Backend> inner_;
};

TEST_F(RepoResticTest, RestoreReadsEachPackOnce) {
  // restic packs 600 small files (and a 5 MiB file cut in chunks) into a few packs; arca's restore reads every
  // data pack in a few ranged reads (at most 4 MiB each), not once per blob, and reproduces the tree.
  std::string src = make_tree("src", 5), repo = dir.file("repo");
  for (int i = 0; i < 600; ++i)
    write(src + "/small/d" + std::to_string(i % 6) + "/f" + std::to_string(i), "small file " + std::to_string(i * 7919));
  ok({"restic", "-r", repo, "init"});
  ok({"restic", "-r", repo, "backup", "."}, src);
  auto backend = std::make_unique<CountingBackend>(repo);
  CountingBackend* counts = backend.get();
  auto r = repo::open_repository(std::move(backend), "correct horse battery staple");
  repo::RestoreOptions ro;
  ro.target = dir.file("out");
  auto result = repo::restore(r, ro);
  EXPECT_EQ(describe(dir.file("out")), describe(src));
  EXPECT_GE(result.files, 600u);
  uint64_t packs = 0, reads = 0, bytes = 0;
  for (const auto& [name, n] : counts->range_reads) {
    ++packs, reads += static_cast<uint64_t>(n);
    bytes += fs::file_size(repo + "/" + name);
  }
  // Tree blobs are read one by one (one per directory, 11 here); data: about one read per 4 MiB.
  EXPECT_LE(reads, 11 + packs + bytes / (4 << 20) + 1) << reads << " ranged reads of " << packs << " packs";
}

// Velero's spec.cancel on a running PodVolumeRestore: the engine asks between files and packs, stops with
// Canceled, and leaves the rest of the tree unwritten.
TEST_F(RepoResticTest, ACanceledRestoreStopsPartWay) {
  std::string src = make_tree("src", 1), repo = dir.file("repo");
  for (int i = 0; i < 600; ++i)
    write(src + "/small/d" + std::to_string(i % 6) + "/f" + std::to_string(i), "small file " + std::to_string(i));
  ok({"restic", "-r", repo, "init"});
  ok({"restic", "-r", repo, "backup", "."}, src);
  auto r = repo::open_repository(repo::local_backend(repo), "correct horse battery staple");
  repo::RestoreOptions ro;
  ro.target = dir.file("out");
  std::atomic<int> asked{0};
  ro.canceled = [&] { return ++asked > 100; };
  EXPECT_THROW(repo::restore(r, ro), repo::Canceled);
  size_t restored = 0;
  for (int i = 0; i < 600; ++i) {
    std::ifstream in(dir.file("out/small/d" + std::to_string(i % 6) + "/f" + std::to_string(i)));
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    restored += content == "small file " + std::to_string(i);
  }
  EXPECT_LT(restored, 300u) << "the restore went on after it was canceled";
  ro.canceled = [] { return false; };
  ro.target = dir.file("again");
  repo::restore(r, ro);
  EXPECT_EQ(describe(dir.file("again")), describe(src)) << "asked and never canceled: the whole tree";
}

TEST_F(RepoResticTest, CommandLineRepositoryInS3) {
  // s3rver as the S3 server; the repository under a prefix, as Velero places it in a bucket.
  auto server = testsupport::start_s3rver(dir);
  testsupport::create_bucket(server, "velero");
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", testsupport::S3rver::kAccessKey},
                                            {"AWS_SECRET_ACCESS_KEY", testsupport::S3rver::kSecretKey}};
  cli_round_trip("s3:" + server.url + "/velero/backups/restic/app", env, 10);
  Cmd bad = run({arca, "repo", "snapshots", "-r", "s3:" + server.url + "/velero"}, "", "", env);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("no repository"), std::string::npos) << bad.output;
}

TEST_F(RepoResticTest, CommandLineRepositoryInAzure) {
  // azurite as Azure Blob Storage; restic's azure:CONTAINER:/PATH form and its AZURE_ACCOUNT_* variables.
  auto server = testsupport::start_azurite(dir);
  testsupport::create_container(server, "velero");
  std::map<std::string, std::string> env = {{"AZURE_ACCOUNT_NAME", testsupport::Azurite::kAccount},
                                            {"AZURE_ACCOUNT_KEY", testsupport::Azurite::kAccountKey},
                                            {"AZURE_ACCOUNT_URI", server.account_uri}};
  std::string repo = "azure:velero:/backups/restic/app";
  cli_round_trip(repo, env, 11);
  // The repository's files are under the path in the container, in restic's layout.
  store::LocationConfig where;
  where.provider = "azure";
  where.bucket = "velero";
  where.config = {{"storageAccount", testsupport::Azurite::kAccount}, {"storageAccountURI", server.account_uri}};
  where.credentials_file = dir.file("azure-credentials");
  write(where.credentials_file, std::string("AZURE_STORAGE_ACCOUNT_ACCESS_KEY=") + testsupport::Azurite::kAccountKey + "\n");
  auto bucket = store::open_store(where);
  EXPECT_TRUE(bucket->head("backups/restic/app/config").exists);
  Cmd bad = run({arca, "repo", "snapshots", "-r", "azure:velero"}, "", "", env);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("expected azure:container:/path"), std::string::npos) << bad.output;

  // Without a key, restic's AZURE_ACCOUNT_SAS: an account SAS made by Python's hmac (not arca's signer) as Azure
  // documents it ("Create an account SAS", versions 2020-12-06 and later); azurite checks its signature.
  const char* make_sas = R"(
import base64, datetime, hashlib, hmac, sys, urllib.parse
account, key, permissions = sys.argv[1:4]
expiry = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
fields = [account, permissions, "b", "sco", "", expiry, "", "", "2021-12-02", ""]
signature = hmac.new(base64.b64decode(key), ("\n".join(fields) + "\n").encode(), hashlib.sha256).digest()
print("?" + urllib.parse.urlencode({"sv": "2021-12-02", "ss": "b", "srt": "sco", "sp": permissions, "se": expiry,
                                    "sig": base64.b64encode(signature).decode()}))
)";
  auto sas = [&](const std::string& permissions) {
    Cmd r = run({"python3", "-c", make_sas, testsupport::Azurite::kAccount, testsupport::Azurite::kAccountKey, permissions});
    EXPECT_EQ(r.status, 0) << r.output;
    return r.output.substr(0, r.output.find('\n'));
  };
  std::map<std::string, std::string> sas_env = {{"AZURE_ACCOUNT_NAME", testsupport::Azurite::kAccount},
                                                {"AZURE_ACCOUNT_SAS", sas("racwdl")},
                                                {"AZURE_ACCOUNT_URI", server.account_uri}};
  std::string more = make_tree("more", 12);
  Cmd sas_backup = run({arca, "repo", "backup", "-q", "-r", repo, more}, "", "", sas_env);
  EXPECT_EQ(sas_backup.status, 0) << sas_backup.output;
  Cmd sas_check = run({arca, "repo", "check", "--read-data", "-r", repo}, "", "", sas_env);
  EXPECT_EQ(sas_check.status, 0) << sas_check.output;
  Cmd sas_list = run({arca, "repo", "snapshots", "--json", "-r", repo}, "", "", sas_env);
  ASSERT_EQ(sas_list.status, 0) << sas_list.output;
  EXPECT_EQ(json::parse(sas_list.output).size(), 2u);
  // A read-only SAS lists, and a backup with it fails in one line naming the refusal, storing nothing.
  sas_env["AZURE_ACCOUNT_SAS"] = sas("rl");
  EXPECT_EQ(run({arca, "repo", "snapshots", "-r", repo}, "", "", sas_env).status, 0);
  size_t blobs = store::list_all(*bucket, "backups/restic/app/").objects.size();
  Cmd refused = run({arca, "repo", "backup", "-q", "-r", repo, make_tree("refused", 13)}, "", "", sas_env);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("403"), std::string::npos) << refused.output;
  EXPECT_EQ(store::list_all(*bucket, "backups/restic/app/").objects.size(), blobs);
  sas_env.erase("AZURE_ACCOUNT_SAS");
  Cmd no_credential = run({arca, "repo", "snapshots", "-r", repo}, "", "", sas_env);
  EXPECT_NE(no_credential.status, 0);
  EXPECT_NE(no_credential.output.find("neither AZURE_ACCOUNT_KEY nor AZURE_ACCOUNT_SAS is set"), std::string::npos)
      << no_credential.output;
  env.erase("AZURE_ACCOUNT_NAME");
  Cmd no_account = run({arca, "repo", "snapshots", "-r", repo}, "", "", env);
  EXPECT_NE(no_account.status, 0);
  EXPECT_NE(no_account.output.find("AZURE_ACCOUNT_NAME is not set"), std::string::npos) << no_account.output;
}

TEST_F(RepoResticTest, KilledBackupLeavesARepositoryResticAccepts) {
  std::string src = make_tree("src", 9), repo = dir.file("repo");
  std::mt19937_64 rng(99);
  std::string big(48 << 20, '\0');
  for (size_t i = 0; i + 8 <= big.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&big[i], &v, 8);
  }
  write(src + "/huge.bin", big);
  ok({arca, "repo", "init", "-r", repo});
  {
    testsupport::ChildProcess backup({arca, "repo", "backup", "-q", "--threads", "1", "-r", repo, src},
                                     dir.file("killed.log"), {{"RESTIC_PASSWORD_FILE", pwfile}});
    // Kill it once the first pack is stored and before any index or snapshot is.
    auto deadline = std::chrono::steady_clock::now() + kTimeout;
    auto packs = [&] {
      size_t n = 0;
      for (const auto& e : fs::recursive_directory_iterator(repo + "/data"))
        if (e.is_regular_file() && e.path().filename().string().find(".tmp") == std::string::npos) ++n;
      return n;
    };
    while (packs() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    backup.signal(SIGKILL);
    backup.wait(kTimeout);
  }
  ASSERT_TRUE(fs::is_empty(repo + "/snapshots")) << "the backup finished before it was killed";
  // restic's procedure after a crash: `unlock` removes stale locks only, so this also shows restic judges the
  // dead backup's lock stale (same host, no such process); then check accepts the repository.
  ok({"restic", "-r", repo, "unlock"});
  EXPECT_TRUE(fs::is_empty(repo + "/locks"));
  ok({"restic", "-r", repo, "check"});
  // The next backup (its dead predecessor's lock is stale: same host, no such process) completes.
  ok({arca, "repo", "backup", "-q", "-r", repo, src});
  ok({"restic", "-r", repo, "check", "--read-data"});
  ok({"restic", "-r", repo, "restore", "latest", "--target", dir.file("out")});
  EXPECT_EQ(describe(dir.file("out")), describe(src));
}

}  // namespace
