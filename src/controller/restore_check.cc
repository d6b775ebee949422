#include "controller/restore_check.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <set>
#include <vector>

#include "archive/tarball_reader.h"
#include "controller/locations.h"
#include "controller/protection.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/protection.h"
#include "restore/engine.h"
#include "util/timestamp.h"

namespace arca::controller {
namespace {

using nlohmann::json;

json restore_test_of(const json& backup) {
  auto text = backup.value("/metadata/annotations"_json_pointer, json::object()).value(kAnnotationRestoreTest, "");
  auto parsed = json::parse(text.empty() ? "{}" : text, nullptr, false);
  return parsed.is_object() ? parsed : json::object();
}

// The namespaces the tarball holds items of (resources/R/namespaces/NS/...), each becoming NS-restore-test.
std::set<std::string> tarball_namespaces(std::FILE* tar) {
  std::set<std::string> out;
  archive::TarballReader reader([tar](char* buffer, size_t capacity) { return std::fread(buffer, 1, capacity, tar); });
  while (auto entry = reader.next()) {
    // resources/R/namespaces/NS/N.json or resources/R/VERSION/namespaces/NS/N.json (R may itself be
    // "namespaces": resources/namespaces/cluster/NS.json is cluster-scoped).
    std::vector<std::string> parts;
    for (size_t pos = 0;;) {
      size_t slash = entry->path.find('/', pos);
      parts.push_back(entry->path.substr(pos, slash - pos));
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    if (parts.size() < 5 || parts[0] != "resources") continue;
    for (size_t i = 2; i + 2 < parts.size() && i <= 3; ++i)
      if (parts[i] == "namespaces" && i + 3 == parts.size()) out.insert(parts[i + 1]);
  }
  std::rewind(tar);
  return out;
}

struct Outcome {
  bool passed = false;
  std::string message;
  std::vector<std::string> namespaces;
};

Outcome dry_run_restore(ServerContext& ctx, const api::Backup& backup, const json& schedule) {
  Outcome out;
  const std::string& ns = backup.metadata.namespace_;
  auto location = kube::DynamicClient(ctx.transport)
                      .get(ctx.locations, ns, backup.spec.storage_location)
                      .get<api::BackupStorageLocation>();
  auto open = open_location(location, ctx.transport, ctx.secrets);
  std::vector<std::string> identities;
  std::string metadata = persistence::read_backup_metadata(open->store(), open->layout(), backup.metadata.name);
  if (auto recipients = persistence::backup_recipients(metadata); !recipients.empty()) {
    std::string secret = schedule.value("/metadata/annotations"_json_pointer, json::object())
                             .value(persistence::kAnnotationDecryptionKeySecret, "");
    if (!secret.empty()) identities = secret_identities(ctx, ns, secret);
    if (auto problem = persistence::identity_mismatch(backup.metadata.name, recipients, identities); !problem.empty()) {
      out.message = problem + " (annotate the schedule with " + persistence::kAnnotationDecryptionKeySecret + ")";
      return out;
    }
  }
  persistence::TempFile tar = persistence::fetch_backup_file(open->store(), open->layout(), backup.metadata.name,
                                                             persistence::BackupFile::Tarball, identities);
  api::Restore restore;
  restore.metadata.name = backup.metadata.name + kRestoreTestSuffix;
  restore.metadata.namespace_ = ns;
  restore.spec.backup_name = backup.metadata.name;
  restore.spec.included_namespaces = {"*"};
  for (const auto& source : tarball_namespaces(tar.get())) {
    restore.spec.namespace_mapping[source] = restore_test_namespace(source);
    out.namespaces.push_back(restore_test_namespace(source));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file(std::tmpfile(), &std::fclose);
  if (!log_file) throw std::runtime_error("cannot create a temporary file for the restore test's log");
  restore::RestoreLog log("/proc/self/fd/" + std::to_string(fileno(log_file.get())), ns + "/" + restore.metadata.name);
  restore::EngineOptions options;
  options.dry_run = true;
  options.plugin_namespace = ns;
  restore::RestoreOutcome result;
  restore::run_restore(restore, [&](char* b, size_t n) { return std::fread(b, 1, n, tar.get()); }, ctx.transport,
                       ctx.discovery, log, options, result);
  std::vector<std::string> errors = result.errors.velero;
  for (const auto& [n, messages] : result.errors.namespaces) errors.insert(errors.end(), messages.begin(), messages.end());
  int would_create = 0;
  for (const auto& item : result.dry_run)
    if (item.verdict == restore::DryRunVerdict::would_create) ++would_create;
  std::string into;
  for (const auto& n : out.namespaces) into += (into.empty() ? "" : ",") + n;
  if (!errors.empty()) {
    out.message = "dry-run restore into " + (into.empty() ? std::string("<no namespace>") : into) + " failed: " +
                  errors.front() + (errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) + " more)" : "");
    return out;
  }
  out.passed = true;
  out.message = "dry-run restore into " + (into.empty() ? std::string("<no namespace>") : into) + ": " +
                std::to_string(result.dry_run.size()) + " items checked, " + std::to_string(would_create) +
                " would be created, no errors";
  return out;
}

}  // namespace

std::string restore_test_namespace(const std::string& ns) {
  std::string base = ns.substr(0, 63 - std::string(kRestoreTestSuffix).size());
  while (!base.empty() && base.back() == '-') base.pop_back();
  return base + kRestoreTestSuffix;
}

std::string describe_restore_test(const std::string& annotation) {
  auto t = json::parse(annotation.empty() ? "{}" : annotation, nullptr, false);
  if (!t.is_object() || !t.contains("result")) return "";
  std::string result = t.value("result", "");
  std::string ordinal = t.contains("ordinal") ? std::to_string(t.value("ordinal", 0)) : "?";
  if (result == "NotDue") return "not due (backup " + ordinal + " of its schedule; " + t.value("message", "") + ")";
  return result + " at " + t.value("time", "") + ": " + t.value("message", "");
}

ReconcileFn restore_check_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    if (!restore_test_of(*cached).empty()) return {};  // decided once per backup
    std::string phase = cached->value("/status/phase"_json_pointer, std::string());
    std::string schedule_name = cached->value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string());
    if (schedule_name.empty() || (phase != "Completed" && phase != "PartiallyFailed")) return {};
    auto backup = cached->get<api::Backup>();
    const std::string& ns = backup.metadata.namespace_;
    kube::DynamicClient client(ctx.transport);
    json schedule;
    try {
      schedule = client.get(ctx.discovery.lookup("velero.io", "v1", "schedules"), ns, schedule_name);
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) return {};
      throw;
    }
    std::string every_text =
        schedule.value("/metadata/annotations"_json_pointer, json::object()).value(kAnnotationRestoreTestEvery, "");
    if (every_text.empty()) return {};
    int every = 0;
    try {
      every = std::stoi(every_text);
    } catch (const std::exception&) {
    }
    if (every <= 0) {
      spdlog::warn("schedule={}: {} \"{}\" is not a positive number; no restore tests", schedule_name,
                   kAnnotationRestoreTestEvery, every_text);
      return {};
    }
    // This backup's place in the schedule's sequence: one past the highest given, by the Schedule's record or by
    // its siblings' (a record not written yet: the server stopped in between).
    int ordinal = 1;
    try {
      ordinal = std::max(ordinal, std::stoi(schedule.value("/metadata/annotations"_json_pointer, json::object())
                                                .value(kAnnotationRestoreTestsNumbered, "0")) + 1);
    } catch (const std::exception&) {
    }
    kube::ListOptions options;
    options.label_selector = "velero.io/schedule-name=" + schedule_name;
    client.list(ctx.backups, ns, options, [&](const kube::ListItem& item) {
      auto sibling = item.parse();
      if (sibling.value("/metadata/name"_json_pointer, std::string()) == backup.metadata.name) return;
      ordinal = std::max(ordinal, restore_test_of(sibling).value("ordinal", 0) + 1);
    });
    json record = {{"ordinal", ordinal}, {"time", format_rfc3339(ctx.clock.now())}};
    if (ordinal % every != 0) {
      record["result"] = "NotDue";
      record["message"] = "a restore test runs every " + std::to_string(every) + " backups";
    } else {
      Outcome outcome;
      try {
        outcome = dry_run_restore(ctx, backup, schedule);
      } catch (const std::exception& e) {
        outcome.message = std::string("the restore test could not run: ") + e.what();
      }
      record["result"] = outcome.passed ? "Passed" : "Failed";
      record["message"] = outcome.message;
      record["namespaces"] = outcome.namespaces;
      spdlog::info("backup={} restore test {}: {}", key, record["result"].get<std::string>(), outcome.message);
    }
    bool recorded = false;
    update_with_retry(ctx.transport, ctx.backups, ns, backup.metadata.name, [&](json& j) {
      if (!restore_test_of(j).empty()) return false;  // another run recorded it first
      j["metadata"]["annotations"][kAnnotationRestoreTest] = record.dump();
      return recorded = true;
    });
    if (!recorded) return {};
    try {
      update_with_retry(ctx.transport, ctx.discovery.lookup("velero.io", "v1", "schedules"), ns, schedule_name,
                        [&](json& j) {
                          auto& annotations = j["metadata"]["annotations"];
                          int numbered = 0;
                          try {
                            if (annotations.is_object())
                              numbered = std::stoi(annotations.value(kAnnotationRestoreTestsNumbered, "0"));
                          } catch (const std::exception&) {
                          }
                          if (numbered >= ordinal) return false;
                          annotations[kAnnotationRestoreTestsNumbered] = std::to_string(ordinal);
                          return true;
                        });
    } catch (const std::exception& e) {
      // The siblings' records still number the next backup unless this one is deleted before it comes.
      spdlog::warn("schedule={}: recording restore test number {} failed: {}", schedule_name, ordinal, e.what());
    }
    return {};
  };
}

}  // namespace arca::controller
