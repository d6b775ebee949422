#pragma once
// The work behind each `arca` command. main.cc only parses flags (CLI11) into these option structs; every
// function returns the process exit code or throws an exception whose what() is the one line to print.
#include <chrono>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "cli/output.h"
#include "kube/config.h"
#include "kube/discovery.h"

namespace arca::kube {
class Transport;
}

namespace arca::cli {

struct Globals {
  std::string kubeconfig, kubecontext, namespace_name;
};

// The connection to the cluster, made on first use.
class Session {
 public:
  explicit Session(Globals globals);
  ~Session();
  const std::string& ns() const { return globals_.namespace_name; }
  kube::Transport& transport();
  kube::Discovery& discovery();
  // A velero.io/v1 resource; a clear error when the CRDs are not installed.
  kube::ApiResource velero(const std::string& resource);
  kube::ApiResource core(const std::string& resource);

 private:
  Globals globals_;
  std::unique_ptr<kube::Transport> transport_;
  std::unique_ptr<kube::Discovery> discovery_;
};

struct BackupCreateOptions {
  std::string name;
  std::string ttl;
  std::vector<std::string> include_namespaces, exclude_namespaces, include_resources, exclude_resources,
      include_cluster_scoped, exclude_cluster_scoped, include_namespace_scoped, exclude_namespace_scoped,
      volume_snapshot_locations;
  std::optional<bool> include_cluster_resources, snapshot_volumes, default_volumes_to_fs_backup, snapshot_move_data;
  std::map<std::string, std::string> labels, annotations;
  std::string selector, or_selector, storage_location, ordered_resources, from_schedule, data_mover;
  std::string csi_snapshot_timeout, item_operation_timeout;
  std::string resource_policies_configmap;
  std::string backup_type;  // Velero 1.19: "", Full or Incremental
  int parallel_files_upload = 0;
  bool wait = false;
  std::string output;  // "": submit; table|json|yaml: print only
  OutputFlags output_flags;  // -L / --show-labels for -o table
};
int backup_create(Session& session, const BackupCreateOptions& options, std::ostream& out);

// `velero.io` objects of `resource` in the session's namespace: the named ones, else those matching `selector`.
std::vector<nlohmann::json> get_or_list(Session& session, const std::string& resource,
                                        const std::vector<std::string>& names, const std::string& selector);
int backup_get(Session& session, const std::vector<std::string>& names, const std::string& selector,
               const OutputFlags& output, std::ostream& out);

struct DownloadOptions {
  std::chrono::seconds timeout{60};
  bool insecure_skip_tls_verify = false;
  std::string cacert;
  std::string decryption_key_file;  // arca: age identities for the files of an encrypted backup
};
// A gzip'd file of a backup or restore (log, results, resource list) through a DownloadRequest, as text:
// decrypted with options.decryption_key_file when its location encrypts; without a key, one line saying so.
// The AGE-SECRET-KEY lines of an identity file; throws one line naming the file (never echoing a key).
std::vector<std::string> read_age_identity_file(const std::string& key_file);
std::string download_document(Session& session, api::DownloadTargetKind kind, const std::string& name,
                              const DownloadOptions& options, const std::string& what);
// `output`: plaintext, or json (one backup: the object and what describe downloads, as one JSON document).
int backup_describe(Session& session, const std::vector<std::string>& names, const std::string& selector, bool details,
                    const std::string& output, const DownloadOptions& download, std::ostream& out);
// Velero's pkg/cmd/util/downloadrequest/downloadrequest.go: creates a DownloadRequest for `kind`/`name` and waits up to `timeout` for its URL.
std::string download_url(Session& session, api::DownloadTargetKind kind, const std::string& name,
                         std::chrono::seconds timeout);
// Streams `url` (http(s) from a signed URL, or file:// for the local store) to `sink`.
void fetch_url(const std::string& url, const DownloadOptions& options,
               const std::function<void(const char*, size_t)>& sink);
int backup_logs(Session& session, const std::string& name, const DownloadOptions& options, std::ostream& out);
int backup_download(Session& session, const std::string& name, std::string path, bool force,
                    const DownloadOptions& options, std::ostream& out);
int backup_delete(Session& session, const std::vector<std::string>& names, bool all, const std::string& selector,
                  bool confirm, std::ostream& out);

struct LocationCreateOptions {
  std::string name, provider, bucket, prefix, credential, access_mode, cacert;
  OutputFlags output;
  std::map<std::string, std::string> config, labels;
  bool is_default = false;
  std::string validation_frequency, backup_sync_period;
};
int location_create(Session& session, const LocationCreateOptions& options, std::ostream& out);
// `default_only`: --default, only the default location.
int location_get(Session& session, const std::vector<std::string>& names, const std::string& selector,
                 bool default_only, const OutputFlags& output, std::ostream& out);

// `arca install --crds-only`: creates or updates every velero.io CRD, waits until discovery serves them.
int install_crds(Session& session, std::ostream& out);

// The contents of `path` (for --cacert, --secret-file); one line naming the flag when it cannot be read.
std::string read_file(const std::string& path, const std::string& flag);
// Velero's Y/N prompt on stdout/stdin; true at once when `confirm` (--confirm) is set.
bool confirmed(bool confirm, std::ostream& out);

// "a=1,b=2" → map (Velero's map flags); throws on an entry without '='.
std::map<std::string, std::string> parse_map_flag(const std::vector<std::string>& values, const std::string& flag,
                                                  char delimiter = '=');
// The process's feature flags (Velero's pkg/cmd/velero/velero.go): the client config file's `features` (a comma list), then every
// `--features` value (the flag repeats and each is a comma list); each name once, in that order, never validated.
std::vector<std::string> feature_flags(const std::string& config_value, const std::vector<std::string>& flag_values);
// Velero's stringArray: the last occurrence wins, split on commas.
std::vector<std::string> last_csv(const std::vector<std::string>& values);
// Tri-state flags: "" (bare) or true/false.
std::optional<bool> parse_optional_bool(const std::vector<std::string>& values, const std::string& flag);

}  // namespace arca::cli
