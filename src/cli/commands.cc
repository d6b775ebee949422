#include "cli/commands.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "api/crds.h"
#include "api/types.h"
#include "cli/output.h"
#include "controller/retention.h"
#include "crypt/age.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "persistence/backup_store.h"
#include "store/crypto.h"
#include "util/duration.h"
#include "util/label_selector.h"
#include "util/names.h"

namespace arca::cli {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t pos; (pos = s.find(sep, start)) != std::string::npos; start = pos + 1) out.push_back(s.substr(start, pos - start));
  out.push_back(s.substr(start));
  return out;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string uuid4() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& c : b) c = static_cast<unsigned char>(rd());
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

// Velero's pkg/util/collections/includes_excludes.go ValidateNamespaceIncludesExcludes, as `backup create`
// checks before submitting.
void check_includes_excludes(const std::vector<std::string>& includes, const std::vector<std::string>& excludes) {
  for (const auto& e : excludes) {
    if (e == "*") throw std::invalid_argument("excludes list cannot contain '*'");
    if (std::find(includes.begin(), includes.end(), e) != includes.end())
      throw std::invalid_argument("excludes list cannot contain an item in the includes list: " + e);
  }
}

api::Backup get_backup(Session& s, const std::string& name) {
  return kube::DynamicClient(s.transport()).get(s.velero("backups"), s.ns(), name).get<api::Backup>();
}

}  // namespace

std::string read_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + flag + " " + path);
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

// Streams `url` (http(s) from a signed URL, or file:// for the local store) to `sink`.
void fetch_url(const std::string& url, const DownloadOptions& options, const std::function<void(const char*, size_t)>& sink) {
  CURL* curl = curl_easy_init();
  if (!curl) throw std::runtime_error("cannot initialise libcurl");
  struct Ctx {
    const std::function<void(const char*, size_t)>* sink;
    std::string error;
  } ctx{&sink, {}};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  if (options.insecure_skip_tls_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!options.cacert.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.cacert.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* p) -> size_t {
    auto* c = static_cast<Ctx*>(p);
    try {
      (*c->sink)(data, size * n);
    } catch (const std::exception& e) {
      c->error = e.what();
      return 0;
    }
    return size * n;
  });
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  if (!ctx.error.empty()) throw std::runtime_error(ctx.error);
  if (code == 404 || rc == CURLE_FILE_COULDNT_READ_FILE) throw std::runtime_error("file not found");
  if (rc != CURLE_OK) throw std::runtime_error(std::string("download failed: ") + curl_easy_strerror(rc));
}

// Velero's pkg/cmd/util/downloadrequest/downloadrequest.go: a DownloadRequest named <target>-<uuid>, polled every 25 ms for its URL.
std::string download_url(Session& s, api::DownloadTargetKind kind, const std::string& name, std::chrono::seconds timeout) {
  api::DownloadRequest request;
  request.metadata.name = name + "-" + uuid4();
  request.metadata.namespace_ = s.ns();
  request.spec.target.kind = kind;
  request.spec.target.name = name;
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("downloadrequests");
  client.create(resource, s.ns(), nlohmann::json(request));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto current = client.get(resource, s.ns(), request.metadata.name).get<api::DownloadRequest>();
    if (!current.status.download_url.empty()) return current.status.download_url;
    std::this_thread::sleep_for(25ms);
  }
  throw std::runtime_error("timed out waiting for download URL; check the arca server logs and that the backup "
                           "storage location is available");
}

namespace {

std::vector<std::string> parse_selector_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t pos; (pos = text.find(" or ", start)) != std::string::npos; start = pos + 4) out.push_back(text.substr(start, pos - start));
  out.push_back(text.substr(start));
  return out;
}

}  // namespace

Session::Session(Globals globals) : globals_(std::move(globals)) {}
Session::~Session() = default;

kube::Transport& Session::transport() {
  if (!transport_) {
    kube::LoadOptions load;
    load.kubeconfig = globals_.kubeconfig;
    load.context = globals_.kubecontext;
    transport_ = std::make_unique<kube::Transport>(kube::load_config(load));
  }
  return *transport_;
}

kube::Discovery& Session::discovery() {
  if (!discovery_) discovery_ = std::make_unique<kube::Discovery>(transport());
  return *discovery_;
}

kube::ApiResource Session::velero(const std::string& resource) {
  try {
    return discovery().lookup("velero.io", "v1", resource);
  } catch (const kube::KubeError& e) {
    if (e.kind() != kube::ErrorKind::ResourceNotResolved) throw;
    throw std::runtime_error("the velero.io CRDs are not installed in this cluster (no " + resource +
                             ".velero.io); run `arca install --crds-only`");
  }
}

kube::ApiResource Session::core(const std::string& resource) { return discovery().lookup("", "v1", resource); }

bool confirmed(bool confirm, std::ostream& out) {
  while (!confirm) {
    out << "Are you sure you want to continue (Y/N)? " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    if (answer == "y" || answer == "Y") return true;
    if (answer == "n" || answer == "N") return false;
  }
  return true;
}

std::map<std::string, std::string> parse_map_flag(const std::vector<std::string>& values, const std::string& flag,
                                                  char delimiter) {
  std::map<std::string, std::string> out;
  for (const auto& value : values)
    for (const auto& entry : split(value, ',')) {
      if (entry.empty()) continue;
      auto eq = entry.find(delimiter);
      if (eq == std::string::npos)
        throw std::invalid_argument("invalid argument \"" + value + "\" for \"" + flag + "\" flag: " + entry +
                                    " is not of the form key" + delimiter + "value");
      out[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  return out;
}

std::vector<std::string> feature_flags(const std::string& config_value, const std::vector<std::string>& flag_values) {
  std::vector<std::string> features;
  auto add = [&](const std::string& list) {
    for (auto& name : split(list, ','))
      if (!name.empty() && std::find(features.begin(), features.end(), name) == features.end())
        features.push_back(name);
  };
  add(config_value);
  for (const auto& value : flag_values) add(value);
  return features;
}

std::vector<std::string> last_csv(const std::vector<std::string>& values) {
  if (values.empty()) return {};
  std::vector<std::string> out;
  for (auto& s : split(values.back(), ','))
    if (!s.empty()) out.push_back(s);
  return out;
}

std::optional<bool> parse_optional_bool(const std::vector<std::string>& values, const std::string& flag) {
  if (values.empty()) return std::nullopt;
  const std::string& v = values.back();
  if (v.empty() || v == "true" || v == "1" || v == "t" || v == "TRUE" || v == "True") return true;
  if (v == "false" || v == "0" || v == "f" || v == "FALSE" || v == "False") return false;
  throw std::invalid_argument("invalid argument \"" + v + "\" for \"" + flag + "\" flag: strconv.ParseBool: parsing \"" +
                              v + "\": invalid syntax");
}

int backup_create(Session& s, const BackupCreateOptions& o, std::ostream& out) {
  api::Backup b;
  b.metadata.name = o.name;
  b.metadata.namespace_ = s.ns();
  if (!o.from_schedule.empty()) {
    if (trim(o.from_schedule).empty()) throw std::invalid_argument("--from-schedule must not be blank");
    auto schedule = kube::DynamicClient(s.transport())
                        .get(s.velero("schedules"), s.ns(), o.from_schedule)
                        .get<api::Schedule>();
    b.spec = schedule.spec.backup_template;
    b.metadata.labels = schedule.spec.backup_template.metadata.labels.empty() ? schedule.metadata.labels
                                                                              : schedule.spec.backup_template.metadata.labels;
    b.metadata.labels["velero.io/schedule-name"] = valid_label_value(o.from_schedule);
    b.metadata.annotations = schedule.metadata.annotations;
    if (b.metadata.name.empty()) b.metadata.name = timestamped_name(o.from_schedule, now_seconds());
    out << "Creating backup from schedule, all other filters are ignored.\n";
  } else {
    if (o.name.empty()) throw std::invalid_argument("a backup name is required, unless you are creating based on a schedule");
    auto& spec = b.spec;
    spec.included_namespaces = o.include_namespaces.empty() ? std::vector<std::string>{"*"} : o.include_namespaces;
    spec.excluded_namespaces = o.exclude_namespaces;
    spec.included_resources = o.include_resources;
    spec.excluded_resources = o.exclude_resources;
    spec.included_cluster_scoped_resources = o.include_cluster_scoped;
    spec.excluded_cluster_scoped_resources = o.exclude_cluster_scoped;
    spec.included_namespace_scoped_resources = o.include_namespace_scoped;
    spec.excluded_namespace_scoped_resources = o.exclude_namespace_scoped;
    spec.include_cluster_resources = o.include_cluster_resources;
    spec.snapshot_volumes = o.snapshot_volumes;
    spec.default_volumes_to_fs_backup = o.default_volumes_to_fs_backup;
    spec.snapshot_move_data = o.snapshot_move_data;
    spec.storage_location = o.storage_location;
    spec.volume_snapshot_locations = o.volume_snapshot_locations;
    spec.datamover = o.data_mover;
    if (!o.resource_policies_configmap.empty())
      spec.resource_policy = api::TypedLocalObjectReference{"", "configmap", o.resource_policies_configmap, {}};
    spec.backup_type = o.backup_type;
    if (o.parallel_files_upload > 0) spec.uploader_config = api::BackupUploaderConfig{o.parallel_files_upload, {}};
    if (!o.ttl.empty()) spec.ttl = parse_duration(o.ttl);
    if (!o.csi_snapshot_timeout.empty()) spec.csi_snapshot_timeout = parse_duration(o.csi_snapshot_timeout);
    if (!o.item_operation_timeout.empty()) spec.item_operation_timeout = parse_duration(o.item_operation_timeout);
    if (!o.selector.empty() && !o.or_selector.empty())
      throw std::invalid_argument("either a 'selector' or an 'or-selector' can be specified, but not both");
    if (!o.selector.empty()) spec.label_selector = parse_label_selector(o.selector);
    if (!o.or_selector.empty())
      for (const auto& part : parse_selector_list(o.or_selector)) spec.or_label_selectors.push_back(parse_label_selector(part));
    if (!o.ordered_resources.empty())
      for (const auto& entry : split(o.ordered_resources, ';')) {
        auto kv = split(entry, '=');
        if (kv.size() != 2)
          throw std::invalid_argument("invalid parameter, expected the format kind=resource1,resource2 but got " + entry);
        spec.ordered_resources[kv[0]] = kv[1];
      }
    check_includes_excludes(spec.included_namespaces, spec.excluded_namespaces);
    bool old_filters = !spec.included_resources.empty() || !spec.excluded_resources.empty() ||
                       spec.include_cluster_resources.has_value();
    bool new_filters = !spec.included_cluster_scoped_resources.empty() || !spec.excluded_cluster_scoped_resources.empty() ||
                       !spec.included_namespace_scoped_resources.empty() ||
                       !spec.excluded_namespace_scoped_resources.empty();
    if (old_filters && new_filters)
      throw std::invalid_argument("include-resources, exclude-resources and include-cluster-resources are old filter "
                                  "parameters; include-cluster-scoped-resources, exclude-cluster-scoped-resources, "
                                  "include-namespace-scoped-resources and exclude-namespace-scoped-resources are new "
                                  "filter parameters; they cannot be used together");
  }
  for (const auto& [k, v] : o.labels) b.metadata.labels[k] = v;
  for (const auto& [k, v] : o.annotations) b.metadata.annotations[k] = v;

  if (o.output == "table") {  // printed, not submitted, as any -o on create
    out << backup_table({b}, now_seconds(), o.output_flags);
    return 0;
  }
  if (!o.output.empty()) {
    out << format_objects({nlohmann::json(b)}, o.output);
    return 0;
  }
  kube::DynamicClient client(s.transport());
  auto require = [&](const std::string& plural, const std::string& name) {
    try {
      client.get(s.velero(plural), s.ns(), name);
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) throw std::runtime_error(plural + ".velero.io \"" + name + "\" not found");
      throw;
    }
  };
  if (!b.spec.storage_location.empty()) require("backupstoragelocations", b.spec.storage_location);
  for (const auto& vsl : b.spec.volume_snapshot_locations) require("volumesnapshotlocations", vsl);
  auto resource = s.velero("backups");
  client.create(resource, s.ns(), nlohmann::json(b));
  out << "Backup request \"" << b.metadata.name << "\" submitted successfully.\n";
  if (!o.wait) {
    out << "Run `arca backup describe " << b.metadata.name << "` or `arca backup logs " << b.metadata.name
        << "` for more details.\n";
    return 0;
  }
  out << "Waiting for backup to complete. You may safely press ctrl-c to stop waiting - your backup will continue in "
         "the background.\n";
  out.flush();
  std::string last_progress;
  for (;;) {
    std::this_thread::sleep_for(1s);
    api::Backup current;
    try {
      current = get_backup(s, b.metadata.name);
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) {
        out << "\nBackup " << b.metadata.name << " was deleted while waiting.\n";
        return 0;
      }
      throw;
    }
    using P = api::BackupPhase;
    auto phase = current.status.phase;
    if (phase == P::FailedValidation || phase == P::Completed || phase == P::PartiallyFailed || phase == P::Failed) {
      out << "\nBackup completed with status: " << api::to_string(phase)
          << ". You may check for more information using the commands `arca backup describe " << b.metadata.name
          << "` and `arca backup logs " << b.metadata.name << "`.\n";
      return 0;
    }
    std::string progress;
    if (current.status.progress)
      progress = " " + std::to_string(current.status.progress->items_backed_up) + "/" +
                 std::to_string(current.status.progress->total_items) + " items";
    out << (progress != last_progress ? progress : ".");
    last_progress = progress;
    out.flush();
  }
}

std::vector<nlohmann::json> get_or_list(Session& s, const std::string& resource_name,
                                        const std::vector<std::string>& names, const std::string& selector) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero(resource_name);
  std::vector<nlohmann::json> objects;
  if (!names.empty()) {
    for (const auto& n : names) objects.push_back(client.get(resource, s.ns(), n));
  } else {
    kube::ListOptions options;
    options.label_selector = selector;
    client.list(resource, s.ns(), options, [&](const kube::ListItem& item) { objects.push_back(item.parse()); });
  }
  return objects;
}

int backup_get(Session& s, const std::vector<std::string>& names, const std::string& selector, const OutputFlags& output,
               std::ostream& out) {
  std::vector<nlohmann::json> objects = get_or_list(s, "backups", names, selector);
  if (output.output != "table" && !output.output.empty()) {
    out << format_objects(objects, output.output);
    return 0;
  }
  std::vector<api::Backup> backups;
  for (const auto& o : objects) backups.push_back(o.get<api::Backup>());
  sort_backups(backups);
  out << backup_table(backups, now_seconds(), output);
  return 0;
}

std::vector<std::string> read_age_identity_file(const std::string& key_file) {
  std::ifstream in(key_file, std::ios::binary);
  if (!in) throw std::invalid_argument("--decryption-key-file: cannot read " + key_file);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> identities;
  try {
    identities = crypt::parse_age_identities(text.str());
  } catch (const crypt::AgeError&) {
    throw std::invalid_argument("--decryption-key-file " + key_file + ": holds a malformed AGE-SECRET-KEY line");
  }
  if (identities.empty())
    throw std::invalid_argument("--decryption-key-file " + key_file + ": no AGE-SECRET-KEY-1... line in it");
  return identities;
}

std::string download_document(Session& s, api::DownloadTargetKind kind, const std::string& name,
                              const DownloadOptions& options, const std::string& what) {
  std::string stored;
  fetch_url(download_url(s, kind, name, options.timeout), options,
            [&](const char* d, size_t n) { stored.append(d, n); });
  if (crypt::is_age(stored)) {
    if (options.decryption_key_file.empty())
      throw std::runtime_error(what + " of \"" + name + "\" is encrypted with age (its backup storage location "
                               "encrypts backups): give --decryption-key-file with the identity file");
    stored = crypt::age_decrypt_string(stored, read_age_identity_file(options.decryption_key_file), what);
  }
  return persistence::gunzip_bytes(stored, what);
}

// What garbage collection will do with `b` (arca's schedule retention rules, else its TTL); "" when the
// schedule or its backups cannot be read, so describe still shows the rest.
std::string backup_retention(Session& s, const api::Backup& b) {
  std::optional<controller::RetentionPolicy> policy;
  std::vector<api::Backup> siblings;
  auto schedule = b.metadata.labels.find("velero.io/schedule-name");
  if (schedule != b.metadata.labels.end()) {
    kube::DynamicClient client(s.transport());
    try {
      auto annotations = client.get(s.velero("schedules"), s.ns(), schedule->second).get<api::Schedule>().metadata.annotations;
      policy = controller::retention_of(annotations);
      kube::ListOptions options;
      options.label_selector = "velero.io/schedule-name=" + schedule->second;
      client.list(s.velero("backups"), s.ns(), options,
                  [&](const kube::ListItem& item) { siblings.push_back(item.parse().get<api::Backup>()); });
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) return "";  // not found: the schedule is gone, its TTL alone decides
    }
  }
  return controller::retention_summary(b, policy, siblings);
}

int backup_describe(Session& s, const std::vector<std::string>& names, const std::string& selector, bool details,
                    const std::string& output, const DownloadOptions& download, std::ostream& out) {
  std::vector<api::Backup> backups;
  if (names.empty()) {
    kube::ListOptions options;
    options.label_selector = selector;
    kube::DynamicClient(s.transport()).list(s.velero("backups"), s.ns(), options, [&](const kube::ListItem& item) {
      backups.push_back(item.parse().get<api::Backup>());
    });
  } else {
    for (const auto& n : names) backups.push_back(get_backup(s, n));
  }
  // Velero's `-o json` is for one backup; with more it falls back to plaintext (pkg/cmd/cli/backup/describe.go).
  bool json_output = output == "json" && backups.size() == 1;
  bool first = true;
  for (const auto& b : backups) {
    if (!first) out << "\n\n";
    first = false;
    std::string resource_list, resource_list_error;
    using P = api::BackupPhase;
    if (details && (b.status.phase == P::Completed || b.status.phase == P::PartiallyFailed)) {
      try {
        DownloadOptions options = download;
        options.timeout = 30s;
        resource_list = download_document(s, api::DownloadTargetKind::BackupResourceList, b.metadata.name, options,
                                          "resource list");
      } catch (const std::exception& e) {
        resource_list_error = e.what();
        if (!json_output) out << "<error getting backup resource list: " << e.what() << ">\n";
      }
    }
    if (json_output) {
      nlohmann::json document = b;
      if (!resource_list.empty()) document["resourceList"] = nlohmann::json::parse(resource_list);
      if (!resource_list_error.empty()) document["errors"]["resourceList"] = resource_list_error;
      out << document.dump(4) << "\n";
      continue;
    }
    // Velero lists them by the backup-name label (pkg/cmd/cli/backup/describe.go).
    std::vector<api::PodVolumeBackup> pod_volume_backups;
    try {
      kube::ListOptions by_backup;
      by_backup.label_selector = "velero.io/backup-name=" + valid_label_value(b.metadata.name);
      kube::DynamicClient(s.transport()).list(s.velero("podvolumebackups"), s.ns(), by_backup,
                                              [&](const kube::ListItem& item) {
                                                pod_volume_backups.push_back(item.parse().get<api::PodVolumeBackup>());
                                              });
    } catch (const std::exception& e) {
      out << "<error getting pod volume backups: " << e.what() << ">\n";
    }
    std::string volume_info;
    if (details && (b.status.phase == P::Completed || b.status.phase == P::PartiallyFailed)) {
      try {
        DownloadOptions options = download;
        options.timeout = 30s;
        volume_info = download_document(s, api::DownloadTargetKind::BackupVolumeInfos, b.metadata.name, options,
                                        "volume information");
      } catch (const std::exception& e) {
        out << "<error getting backup volume info: " << e.what() << ">\n";
      }
    }
    out << describe_backup(b, details, resource_list, backup_retention(s, b), pod_volume_backups, volume_info);
  }
  return 0;
}

int backup_logs(Session& s, const std::string& name, const DownloadOptions& options, std::ostream& out) {
  auto b = get_backup(s, name);
  using P = api::BackupPhase;
  auto p = b.status.phase;
  if (p != P::Completed && p != P::PartiallyFailed && p != P::Failed && p != P::WaitingForPluginOperations &&
      p != P::WaitingForPluginOperationsPartiallyFailed)
    throw std::runtime_error("logs for backup \"" + name +
                             "\" are not available until it's finished processing, please wait until the backup has "
                             "a phase of Completed or Failed and try again");
  try {
    out << download_document(s, api::DownloadTargetKind::BackupLog, name, options, "the log");
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()) == "file not found")
      throw std::runtime_error("logs for backup \"" + name + "\" are not available in object storage");
    throw;
  }
  return 0;
}

int backup_download(Session& s, const std::string& name, std::string path, bool force, const DownloadOptions& options,
                    std::ostream& out) {
  if (path.empty()) path = std::string(getenv("PWD") ? getenv("PWD") : ".") + "/" + name + "-data.tar.gz";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL), 0644);
  if (fd < 0) throw std::runtime_error("unable to create download file: open " + path + ": " + std::strerror(errno));
  try {
    get_backup(s, name);
    fetch_url(download_url(s, api::DownloadTargetKind::BackupContents, name, options.timeout), options,
              [&](const char* d, size_t n) {
                if (::write(fd, d, n) != static_cast<ssize_t>(n)) throw std::runtime_error("error writing " + path);
              });
    ::close(fd);
  } catch (...) {
    ::close(fd);
    std::remove(path.c_str());
    throw;
  }
  out << "Backup " << name << " has been successfully downloaded to " << path << "\n";
  return 0;
}

int backup_delete(Session& s, const std::vector<std::string>& names, bool all, const std::string& selector,
                  bool confirm, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  std::vector<api::Backup> backups;
  if (all || !selector.empty()) {
    kube::ListOptions options;
    options.label_selector = selector;
    client.list(s.velero("backups"), s.ns(), options, [&](const kube::ListItem& item) {
      backups.push_back(item.parse().get<api::Backup>());
    });
    if (backups.empty()) {
      out << "No backups found\n";
      return 0;
    }
  } else {
    for (const auto& n : names) backups.push_back(get_backup(s, n));
  }
  if (!confirmed(confirm, out)) return 0;
  auto resource = s.velero("deletebackuprequests");
  for (const auto& b : backups) {
    api::DeleteBackupRequest request;
    request.metadata.generate_name = b.metadata.name + "-";
    request.metadata.namespace_ = s.ns();
    request.metadata.labels["velero.io/backup-name"] = valid_label_value(b.metadata.name);
    request.metadata.labels["velero.io/backup-uid"] = b.metadata.uid;
    request.spec.backup_name = b.metadata.name;
    client.create(resource, s.ns(), nlohmann::json(request));
    out << "Request to delete backup \"" << b.metadata.name << "\" submitted successfully.\n"
        << "The backup will be fully deleted after all associated data (disk snapshots, backup files, restores) are "
           "removed.\n";
  }
  return 0;
}

int location_create(Session& s, const LocationCreateOptions& o, std::ostream& out) {
  api::BackupStorageLocation l;
  l.metadata.name = o.name;
  l.metadata.namespace_ = s.ns();
  l.metadata.labels = o.labels;
  l.spec.provider = o.provider;
  l.spec.object_storage.bucket = o.bucket;
  l.spec.object_storage.prefix = o.prefix;
  l.spec.config = o.config;
  l.spec.is_default = o.is_default;
  if (!o.access_mode.empty()) {
    if (o.access_mode != "ReadWrite" && o.access_mode != "ReadOnly")
      throw std::invalid_argument("invalid argument \"" + o.access_mode +
                                  "\" for \"--access-mode\" flag: valid values are ReadWrite, ReadOnly");
    l.spec.access_mode = o.access_mode == "ReadOnly" ? api::AccessMode::ReadOnly : api::AccessMode::ReadWrite;
  }
  if (!o.credential.empty()) {
    auto kv = split(o.credential, '=');
    if (kv.size() != 2) throw std::invalid_argument("--credential must be of the form SECRET_NAME=KEY");
    l.spec.credential.emplace();
    l.spec.credential->name = kv[0];
    l.spec.credential->key = kv[1];
  }
  if (!o.validation_frequency.empty()) l.spec.validation_frequency = parse_duration(o.validation_frequency);
  if (!o.backup_sync_period.empty()) {
    l.spec.backup_sync_period = parse_duration(o.backup_sync_period);
    if (l.spec.backup_sync_period->count() < 0) throw std::invalid_argument("--backup-sync-period must be non-negative");
  }
  if (!o.cacert.empty()) l.spec.object_storage.ca_cert = store::base64_encode(read_file(o.cacert, "--cacert"));
  if (o.output.output == "table") {
    out << location_table({l}, o.output);
    return 0;
  }
  if (!o.output.output.empty()) {
    out << format_objects({nlohmann::json(l)}, o.output.output);
    return 0;
  }
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("backupstoragelocations");
  if (o.is_default)
    client.list(resource, s.ns(), {}, [&](const kube::ListItem& item) {
      if (item.parse().value("/spec/default"_json_pointer, false))
        throw std::runtime_error("there is already exist default backup storage location " + std::string(item.name) +
                                 ", only one default backup storage location is allowed");
    });
  client.create(resource, s.ns(), nlohmann::json(l));
  out << "Backup storage location \"" << o.name << "\" configured successfully.\n";
  return 0;
}

int location_get(Session& s, const std::vector<std::string>& names, const std::string& selector, bool default_only,
                 const OutputFlags& output, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("backupstoragelocations");
  std::vector<nlohmann::json> objects;
  if (!names.empty()) {
    for (const auto& n : names) objects.push_back(client.get(resource, s.ns(), n));
  } else {
    kube::ListOptions options;
    options.label_selector = selector;
    client.list(resource, s.ns(), options, [&](const kube::ListItem& item) { objects.push_back(item.parse()); });
  }
  if (default_only)  // --default: only the default location (pkg/cmd/cli/backuplocation/get.go)
    std::erase_if(objects, [](const nlohmann::json& o) { return !o.value("/spec/default"_json_pointer, false); });
  if (output.output != "table" && !output.output.empty()) {
    out << format_objects(objects, output.output);
    return 0;
  }
  std::vector<api::BackupStorageLocation> locations;
  for (const auto& o : objects) locations.push_back(o.get<api::BackupStorageLocation>());
  out << location_table(locations, output);
  return 0;
}

int install_crds(Session& s, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto crds = s.discovery().lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  for (auto crd : api::velero_crds()) {
    std::string name = crd["metadata"]["name"];
    try {
      client.create(crds, "", crd);
      out << "CustomResourceDefinition/" << name << ": created\n";
    } catch (const kube::KubeError& e) {
      if (!kube::is_already_exists(e)) throw;
      crd["metadata"]["resourceVersion"] = client.get(crds, "", name)["metadata"]["resourceVersion"];
      client.update(crds, "", crd);
      out << "CustomResourceDefinition/" << name << ": updated\n";
    }
  }
  // Commands that follow resolve velero.io kinds through discovery: wait until it serves them.
  for (int i = 0; i < 100; ++i) {
    s.discovery().refresh();
    if (kube::resolve_resource(*s.discovery().data(), "backups.velero.io")) {
      out << "Velero CRDs are installed.\n";
      return 0;
    }
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error("the velero.io CRDs were created but discovery does not serve them after 10s");
}

}  // namespace arca::cli
