#pragma once
// The keys of a backup storage location exactly as Velero writes them (Velero's pkg/persistence/object_store_layout.go).
#include <string>
#include <string_view>

namespace arca::persistence {

// The location's prefix, normalised as Velero does: slashes trimmed, then one '/' appended if non-empty.
struct Layout {
  std::string prefix;
};
Layout make_layout(std::string_view prefix);

enum class BackupFile {
  Metadata,          // velero-backup.json
  Tarball,           // B.tar.gz
  Logs,              // B-logs.gz
  PodVolumeBackups,  // B-podvolumebackups.json.gz
  VolumeSnapshots,   // B-volumesnapshots.json.gz
  ItemOperations,    // B-itemoperations.json.gz
  ResourceList,      // B-resource-list.json.gz
  Results,           // B-results.gz
  VolumeInfo,        // B-volumeinfo.json.gz
  ItemDigests,       // B-arca-item-digests.bin: arca's, signed backups only (persistence/item_digests.h)
  // Read for backups written before Velero 1.17; never written.
  CsiVolumeSnapshots,
  CsiVolumeSnapshotContents,
  CsiVolumeSnapshotClasses,
};

enum class RestoreFile {
  Logs,            // restore-R-logs.gz
  Results,         // restore-R-results.gz
  ResourceList,    // restore-R-resource-list.json.gz
  ItemOperations,  // restore-R-itemoperations.json.gz
  VolumeInfo,      // R-volumeinfo.json.gz (no "restore-" prefix)
};

std::string backups_dir(const Layout& layout);                          // <prefix>backups/
std::string backup_dir(const Layout& layout, std::string_view backup);  // <prefix>backups/B/
std::string backup_key(const Layout& layout, std::string_view backup, BackupFile file);
std::string restore_dir(const Layout& layout, std::string_view restore);  // <prefix>restores/R/
std::string restore_key(const Layout& layout, std::string_view restore, RestoreFile file);
// <prefix>metadata/revision: no longer read or written by Velero; kept so tooling can find it.
std::string revision_key(const Layout& layout);

// The top-level "directories" Velero accepts under a prefix; any other makes a location Unavailable.
bool is_valid_top_level_dir(std::string_view dir);

}  // namespace arca::persistence
