#pragma once
// The disk side of kubelite's CSI host-path driver (`hostpath.csi.k8s.io`, after kubernetes-csi/csi-driver-host-path):
// a volume is a directory, a snapshot is a point-in-time copy of one. Everything lives under one root, by default
// `<kubelite --data-dir>/csi-hostpath` (a private temporary directory when kubelite keeps no data directory):
//
//   <root>/volumes/<volumeHandle>      a provisioned volume (PV spec.csi.volumeHandle)
//   <root>/snapshots/<snapshotHandle>  a snapshot (VolumeSnapshotContent status.snapshotHandle)
//
// The kubelet bind-mounts volume_dir(root, pv.spec.csi.volumeHandle) at
// <kubelet-root>/pods/<pod uid>/volumes/kubernetes.io~csi/<pv name>/mount.
#include <cstdint>
#include <string>

namespace kubelite::storage {

inline constexpr const char* kDriverName = "hostpath.csi.k8s.io";

// Handles are generated here (uuids), but pre-provisioned objects carry handles written by users: only names
// that stay inside the root are accepted.
bool valid_handle(const std::string& handle);
// The directory of a volume or snapshot; "" when the handle is not valid.
std::string volume_dir(const std::string& root, const std::string& volume_handle);
std::string snapshot_dir(const std::string& root, const std::string& snapshot_handle);

struct CopyStats {
  uint64_t files = 0, bytes = 0;
  uint64_t reflinked = 0;  // files cloned with FICLONE (sharing extents: no data written)
};

// Copies the tree `from` to `to` (which must not exist) through a temporary sibling renamed into place, so a
// partial copy is never seen under `to`. Each regular file is cloned with the FICLONE ioctl where the file system
// supports it (btrfs, XFS: copy-on-write, so later writes to the source do not show in the copy) and copied with
// copy_file_range otherwise. Hard links are not used: an in-place write to the source would show through them.
// Directories, symlinks and permissions are kept. Throws std::runtime_error naming the path on I/O errors.
CopyStats copy_tree(const std::string& from, const std::string& to);

// Bytes in the regular files of a tree (0 when it does not exist).
uint64_t tree_bytes(const std::string& path);

// Removes a tree; a missing one is not an error.
void remove_tree(const std::string& path);

}  // namespace kubelite::storage
