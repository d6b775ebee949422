// `arca repo init|backup|restore|snapshots|forget|prune|check|key`: the volume data engine (src/repo) from the
// command line, with restic's flag names (-r/--repo, --password-file, --target, --include, --read-data, ...).
// The repository and password file may also come from RESTIC_REPOSITORY / RESTIC_PASSWORD_FILE, as for restic.
// `arca repo get` is Velero's `velero repo get`: the BackupRepository objects of the cluster.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/types.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "controller/repositories.h"
#include "repo/repository.h"

namespace arca::cli {
namespace {

struct RepoFlags {
  std::string repo, password_file;
  bool quiet = false, json = false;
  // backup
  std::string source, host, parent, retry_lock = "0";
  std::vector<std::string> tags;
  bool force = false;
  // restore
  std::string snapshot = "latest", target, include;
  // forget / check
  std::vector<std::string> ids, keep_tags;
  int keep_last = 0, keep_hourly = 0, keep_daily = 0, keep_weekly = 0, keep_monthly = 0, keep_yearly = 0;
  bool prune = false, dry_run = false, read_data = false;
  int threads = 0;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string password(const RepoFlags& f) {
  std::string file = f.password_file.empty() ? env("RESTIC_PASSWORD_FILE") : f.password_file;
  if (file.empty()) {
    std::string pw = env("RESTIC_PASSWORD");
    if (!pw.empty()) return pw;
    throw std::runtime_error("no password given: use --password-file or RESTIC_PASSWORD_FILE");
  }
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read the password file " + file);
  std::string pw;
  std::getline(in, pw);  // the first line, as restic reads it
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  return pw;
}

// jemalloc's control call (the arca binary links jemalloc); null without it.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen) __attribute__((weak));

// `arca repo` is a batch command whose peak RSS is compared with restic's. jemalloc keeps freed pages resident for
// about 10 s, per arena (per thread): the buffers backup workers free and allocate again added ~15 MiB to the
// peak (bench/repo: 68 → 52 MiB on 1.5 GB of large files, same CPU). Here they go back at once; the servers,
// which allocate far more often, keep jemalloc's default.
void purge_freed_pages_at_once() {
  if (!mallctl) return;
  ssize_t zero = 0;
  for (const char* name : {"arenas.dirty_decay_ms", "arenas.muzzy_decay_ms", "arena.4096.dirty_decay_ms",
                           "arena.4096.muzzy_decay_ms"})
    mallctl(name, nullptr, nullptr, &zero, sizeof zero);
}

std::unique_ptr<repo::Backend> backend(const RepoFlags& f) {
  purge_freed_pages_at_once();
  return repo::open_location(f.repo.empty() ? env("RESTIC_REPOSITORY") : f.repo);
}

repo::ProgressFn progress(const RepoFlags& f) {
  if (f.quiet) return {};
  bool tty = ::isatty(STDERR_FILENO);
  return [tty](const repo::Progress& p) {
    if (tty) std::cerr << "\r\033[K" << repo::format_progress(p) << (p.final ? "\n" : "") << std::flush;
    else std::cerr << repo::format_progress(p) << "\n";
  };
}

std::chrono::seconds parse_seconds(const std::string& text) {
  // "0", "30s", "5m", "1h"
  if (text.empty()) return std::chrono::seconds(0);
  char unit = text.back();
  long n = std::stol(std::isdigit(static_cast<unsigned char>(unit)) ? text : text.substr(0, text.size() - 1));
  if (unit == 'm') n *= 60;
  else if (unit == 'h') n *= 3600;
  return std::chrono::seconds(n);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Velero's backup repository printer: NAME, STATUS ("New" when unset), LAST MAINTENANCE ("<never>" when unset; Go's
// time.String() form otherwise).
int repo_get(Session& s, const std::vector<std::string>& names, const std::string& selector, const OutputFlags& output,
             std::ostream& out) {
  std::vector<nlohmann::json> objects = get_or_list(s, "backuprepositories", names, selector);
  if (output.output != "table") {
    out << format_objects(objects, output.output);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATUS", "LAST MAINTENANCE"}};
  std::vector<std::map<std::string, std::string>> labels;
  for (const auto& o : objects) {
    auto r = o.get<api::BackupRepository>();
    std::string phase(api::to_string(r.status.phase));
    std::string last = "<never>";
    if (r.status.last_maintenance_time) {
      last = format_rfc3339(*r.status.last_maintenance_time);  // 2024-01-02T03:04:05Z
      last = last.substr(0, 10) + " " + last.substr(11, 8) + " +0000 UTC";
    }
    rows.push_back({r.metadata.name, phase.empty() ? "New" : phase, last});
    labels.push_back(r.metadata.labels);
  }
  add_label_columns(rows, labels, output);
  out << text_table(rows);
  return 0;
}

}  // namespace

void add_repo_commands(CLI::App& app, Cli& cli) {
  auto& action = cli.action;
  static RepoFlags f;
  auto* group = app.add_subcommand("repo", "Work with volume data repositories (restic format, version 2)")
                    ->require_subcommand(1);
  group->add_option("-r,--repo", f.repo, "Repository location (a directory; default $RESTIC_REPOSITORY)");
  group->add_option("-p,--password-file", f.password_file, "File with the repository password (default $RESTIC_PASSWORD_FILE)");
  group->add_flag("-q,--quiet", f.quiet, "Do not print progress");
  group->add_flag("--json", f.json, "Print results as JSON");
  group->fallthrough();

  struct GetFlags {
    std::vector<std::string> names;
    std::string selector;
    OutputFlags output;
  };
  auto& g = cli.make<GetFlags>();
  auto* get = group->add_subcommand("get", "Get restic repositories");
  get->add_option("NAMES", g.names, "Repository names");
  selector_flag(get, g.selector, "Only show items matching this label selector.");
  add_output_flags(get, g.output, "table");
  get->callback([&g, &cli] { cli.run([&g](Session& s) { return repo_get(s, g.names, g.selector, g.output, std::cout); }); });

  auto* init = group->add_subcommand("init", "Initialize a new repository");
  init->callback([&] {
    action = [] {
      auto r = repo::init_repository(backend(f), password(f));
      std::cout << "created restic repository at " << r.describe() << "\n";
      return 0;
    };
  });

  auto* bk = group->add_subcommand("backup", "Back up a directory (its content becomes the snapshot's root)");
  bk->add_option("DIR", f.source, "Directory to back up")->required();
  bk->add_option("--tag", f.tags, "Add a tag to the snapshot (repeatable)");
  bk->add_option("-H,--host", f.host, "Hostname recorded in the snapshot");
  bk->add_option("--parent", f.parent, "Snapshot to compare with (default: the latest of this host and path)");
  bk->add_flag("-f,--force", f.force, "Read every file, even unchanged ones");
  bk->add_option("--retry-lock", f.retry_lock, "How long to wait for an exclusive lock (e.g. a prune) to go away");
  bk->add_option("--threads", f.threads, "Worker threads (default: one per core)");
  bk->callback([&] {
    action = [] {
      auto r = repo::open_repository(backend(f), password(f));
      repo::BackupOptions o;
      o.source = f.source, o.tags = f.tags, o.host = f.host, o.force = f.force, o.threads = f.threads;
      if (!f.parent.empty()) o.parent = f.parent;
      o.retry_lock = parse_seconds(f.retry_lock);
      o.progress = progress(f);
      auto res = repo::backup(r, o);
      if (f.json) {
        std::cout << "{\"snapshot_id\":\"" << res.snapshot_id << "\",\"files_new\":" << res.files_new
                  << ",\"files_changed\":" << res.files_changed << ",\"files_unmodified\":" << res.files_unmodified
                  << ",\"bytes_read\":" << res.bytes_read << ",\"data_added\":" << res.bytes_added << "}\n";
      } else {
        std::cout << "Files: " << res.files_new << " new, " << res.files_changed << " changed, "
                  << res.files_unmodified << " unmodified\n"
                  << "Added to the repository: " << res.bytes_added << " bytes in " << res.blobs_added << " blobs\n"
                  << "snapshot " << res.snapshot_id.substr(0, 8) << " saved\n";
      }
      return 0;
    };
  });

  auto* rs = group->add_subcommand("restore", "Restore a snapshot into a directory");
  rs->add_option("SNAPSHOT", f.snapshot, "Snapshot ID, prefix or \"latest\"");
  rs->add_option("-t,--target", f.target, "Directory to restore into")->required();
  rs->add_option("-i,--include", f.include, "Restore only this path of the snapshot");
  rs->add_option("--threads", f.threads, "Worker threads (default: one per core)");
  rs->callback([&] {
    action = [] {
      auto r = repo::open_repository(backend(f), password(f));
      repo::RestoreOptions o;
      o.snapshot = f.snapshot, o.target = f.target, o.include = f.include, o.threads = f.threads;
      o.progress = progress(f);
      auto res = repo::restore(r, o);
      if (!f.quiet)
        std::cout << "restored " << res.files << " files, " << res.dirs << " directories, " << res.symlinks
                  << " symlinks, " << res.hardlinks << " hard links (" << res.bytes << " bytes) to " << f.target << "\n";
      return 0;
    };
  });

  auto* sn = group->add_subcommand("snapshots", "List snapshots");
  sn->callback([&] {
    action = [] {
      auto r = repo::open_repository(backend(f), password(f));
      auto list = repo::list_snapshots(r);
      if (f.json) {
        std::cout << "[";
        for (size_t i = 0; i < list.size(); ++i) {
          const auto& s = list[i];
          std::cout << (i ? "," : "") << "{\"id\":\"" << s.id << "\",\"short_id\":\"" << s.id.substr(0, 8)
                    << "\",\"time\":\"" << s.time << "\",\"hostname\":\"" << json_escape(s.hostname) << "\",\"tree\":\""
                    << s.tree << "\",\"paths\":[";
          for (size_t p = 0; p < s.paths.size(); ++p) std::cout << (p ? "," : "") << "\"" << json_escape(s.paths[p]) << "\"";
          std::cout << "]}";
        }
        std::cout << "]\n";
        return 0;
      }
      std::printf("%-8s  %-30s  %-16s  %s\n", "ID", "Time", "Host", "Paths");
      for (const auto& s : list) {
        std::string paths;
        for (const auto& p : s.paths) paths += (paths.empty() ? "" : ",") + p;
        std::printf("%-8s  %-30s  %-16s  %s\n", s.id.substr(0, 8).c_str(), s.time.c_str(), s.hostname.c_str(), paths.c_str());
      }
      std::printf("%zu snapshots\n", list.size());
      return 0;
    };
  });

  auto* fg = group->add_subcommand("forget", "Remove snapshots (by ID or by a keep policy)");
  fg->add_option("IDS", f.ids, "Snapshot IDs to forget");
  fg->add_option("-l,--keep-last", f.keep_last, "Keep the last n snapshots");
  fg->add_option("-H,--keep-hourly", f.keep_hourly, "Keep the last n hourly snapshots");
  fg->add_option("-d,--keep-daily", f.keep_daily, "Keep the last n daily snapshots");
  fg->add_option("-w,--keep-weekly", f.keep_weekly, "Keep the last n weekly snapshots");
  fg->add_option("-m,--keep-monthly", f.keep_monthly, "Keep the last n monthly snapshots");
  fg->add_option("-y,--keep-yearly", f.keep_yearly, "Keep the last n yearly snapshots");
  fg->add_option("--keep-tag", f.keep_tags, "Keep snapshots with this tag");
  fg->add_flag("-n,--dry-run", f.dry_run, "Only show what would be removed");
  fg->add_flag("--prune", f.prune, "Prune the repository afterwards");
  fg->callback([&] {
    action = [] {
      auto r = repo::open_repository(backend(f), password(f));
      repo::ForgetPolicy p;
      p.snapshot_ids = f.ids, p.keep_last = f.keep_last, p.keep_hourly = f.keep_hourly, p.keep_daily = f.keep_daily;
      p.keep_weekly = f.keep_weekly, p.keep_monthly = f.keep_monthly, p.keep_yearly = f.keep_yearly;
      p.keep_tags = f.keep_tags, p.dry_run = f.dry_run;
      auto res = repo::forget(r, p);
      std::cout << "keep " << res.kept.size() << " snapshots, remove " << res.removed.size() << "\n";
      for (const auto& id : res.removed) std::cout << (f.dry_run ? "would remove " : "removed snapshot ") << id.substr(0, 8) << "\n";
      if (f.prune && !f.dry_run) repo::prune(r, std::cout);
      return 0;
    };
  });

  auto* pr = group->add_subcommand("prune", "Remove data that no snapshot references");
  pr->add_flag("-n,--dry-run", f.dry_run, "Do not modify the repository, just print what would be done");
  pr->callback([&] {
    action = [] {
      auto r = repo::open_repository(backend(f), password(f));
      repo::prune(r, std::cout, f.dry_run);
      return 0;
    };
  });

  // restic's `key list|add|remove` (cmd_key.go), with its flags.
  struct KeyFlags {
    std::string new_password_file, user, host, id;
  };
  auto& k = cli.make<KeyFlags>();
  auto* key = group->add_subcommand("key", "Manage the repository's keys (passwords)")->require_subcommand(1);
  auto* key_list = key->add_subcommand("list", "List the keys; * marks the one the password opened");
  key_list->callback([&] {
    action = [] {
      auto r = repo::open_repository(backend(f), password(f));
      auto keys = repo::list_keys(r);
      if (f.json) {
        std::cout << "[";
        for (size_t i = 0; i < keys.size(); ++i)
          std::cout << (i ? "," : "") << "{\"current\":" << (keys[i].current ? "true" : "false") << ",\"id\":\""
                    << keys[i].id << "\",\"userName\":\"" << json_escape(keys[i].username) << "\",\"hostName\":\""
                    << json_escape(keys[i].hostname) << "\",\"created\":\"" << keys[i].created << "\"}";
        std::cout << "]\n";
        return 0;
      }
      std::printf(" %-8s  %-10s  %-16s  %s\n", "ID", "User", "Host", "Created");
      for (const auto& info : keys)
        std::printf("%s%-8s  %-10s  %-16s  %s\n", info.current ? "*" : " ", info.id.substr(0, 8).c_str(),
                    info.username.c_str(), info.hostname.c_str(), info.created.substr(0, 19).c_str());
      return 0;
    };
  });
  auto* key_add = key->add_subcommand("add", "Add a key: a new password for the same repository");
  key_add->add_option("--new-password-file", k.new_password_file, "File with the new password (its first line)")
      ->required();
  key_add->add_option("--user", k.user, "Username recorded in the key (default: the current user)");
  key_add->add_option("--host", k.host, "Hostname recorded in the key (default: this machine's)");
  key_add->callback([&] {
    action = [&k] {
      auto r = repo::open_repository(backend(f), password(f));
      RepoFlags from_file;
      from_file.password_file = k.new_password_file;
      std::string id = repo::add_key(r, password(from_file), k.user, k.host);
      std::cout << "saved new key as <Key of " << (k.user.empty() ? "you" : k.user) << ", ID " << id.substr(0, 8)
                << ">\n";
      return 0;
    };
  });
  auto* key_remove = key->add_subcommand("remove", "Remove a key (not the one the password opened)");
  key_remove->add_option("ID", k.id, "Key ID (or a unique prefix)")->required();
  key_remove->callback([&] {
    action = [&k] {
      auto r = repo::open_repository(backend(f), password(f));
      repo::remove_key(r, k.id);
      std::cout << "removed key " << k.id << "\n";
      return 0;
    };
  });

  // The cluster's repositories: a new password in velero-repo-credentials, added to every repository first.
  auto& rotate_file = cli.make<std::string>();
  auto* rotate = group->add_subcommand(
      "rotate-password",
      "Rotate the volume repositories' password (Secret velero-repo-credentials): add the new one as a key to every "
      "repository, update the Secret, then remove the old key");
  rotate->add_option("--new-password-file", rotate_file, "File with the new password (default: a random one)");
  rotate->callback([&rotate_file, &cli] {
    cli.run([&rotate_file](Session& s) {
      std::string next;
      if (!rotate_file.empty()) {
        RepoFlags from_file;
        from_file.password_file = rotate_file;
        next = password(from_file);
        if (next.empty()) throw std::invalid_argument("the new password file " + rotate_file + " is empty");
      }
      size_t n = controller::rotate_repository_password(s.transport(), s.discovery(), s.core("secrets"), s.ns(), next,
                                                        std::cout);
      std::cout << "rotated the password of " << n << " repositories\n";
      return 0;
    });
  });

  auto* ck = group->add_subcommand("check", "Check the repository for errors");
  ck->add_flag("--read-data", f.read_data, "Read and verify all data blobs");
  ck->callback([&] {
    action = [] {
      auto r = repo::open_repository(backend(f), password(f));
      auto res = repo::check(r, {f.read_data}, std::cout);
      if (!res.ok()) throw std::runtime_error("check found " + std::to_string(res.errors.size()) + " error(s): " + res.errors.front());
      return 0;
    };
  });
}

}  // namespace arca::cli
