#include "persistence/layout.h"

#include <array>

namespace arca::persistence {

Layout make_layout(std::string_view prefix) {
  while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  return {prefix.empty() ? std::string() : std::string(prefix) + "/"};
}

std::string backups_dir(const Layout& layout) {
  return layout.prefix + "backups/";
}

std::string backup_dir(const Layout& layout, std::string_view backup) {
  return backups_dir(layout) + std::string(backup) + "/";
}

std::string backup_key(const Layout& layout, std::string_view backup, BackupFile file) {
  std::string b(backup);
  std::string dir = backup_dir(layout, backup);
  switch (file) {
    case BackupFile::Metadata: return dir + "velero-backup.json";
    case BackupFile::Tarball: return dir + b + ".tar.gz";
    case BackupFile::Logs: return dir + b + "-logs.gz";
    case BackupFile::PodVolumeBackups: return dir + b + "-podvolumebackups.json.gz";
    case BackupFile::VolumeSnapshots: return dir + b + "-volumesnapshots.json.gz";
    case BackupFile::ItemOperations: return dir + b + "-itemoperations.json.gz";
    case BackupFile::ResourceList: return dir + b + "-resource-list.json.gz";
    case BackupFile::Results: return dir + b + "-results.gz";
    case BackupFile::VolumeInfo: return dir + b + "-volumeinfo.json.gz";
    case BackupFile::ItemDigests: return dir + b + "-arca-item-digests.bin";
    case BackupFile::CsiVolumeSnapshots: return dir + b + "-csi-volumesnapshots.json.gz";
    case BackupFile::CsiVolumeSnapshotContents: return dir + b + "-csi-volumesnapshotcontents.json.gz";
    case BackupFile::CsiVolumeSnapshotClasses: return dir + b + "-csi-volumesnapshotclasses.json.gz";
  }
  return dir;
}

std::string restore_dir(const Layout& layout, std::string_view restore) {
  return layout.prefix + "restores/" + std::string(restore) + "/";
}

std::string restore_key(const Layout& layout, std::string_view restore, RestoreFile file) {
  std::string r(restore);
  std::string dir = restore_dir(layout, restore);
  switch (file) {
    case RestoreFile::Logs: return dir + "restore-" + r + "-logs.gz";
    case RestoreFile::Results: return dir + "restore-" + r + "-results.gz";
    case RestoreFile::ResourceList: return dir + "restore-" + r + "-resource-list.json.gz";
    case RestoreFile::ItemOperations: return dir + "restore-" + r + "-itemoperations.json.gz";
    case RestoreFile::VolumeInfo: return dir + r + "-volumeinfo.json.gz";
  }
  return dir;
}

std::string revision_key(const Layout& layout) {
  return layout.prefix + "metadata/revision";
}

bool is_valid_top_level_dir(std::string_view dir) {
  static constexpr std::array<std::string_view, 6> valid = {"backups",  "restores", "restic",
                                                            "metadata", "plugins",  "kopia"};
  for (auto v : valid)
    if (v == dir) return true;
  return false;
}

}  // namespace arca::persistence
