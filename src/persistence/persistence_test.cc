// The bucket layout against the local driver (with fault injection) and against s3rver and azurite.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <fstream>

#include "archive/tarball_reader.h"
#include "archive/tarball_writer.h"
#include "persistence/backup_store.h"
#include "store/fault_store.h"
#include "store/location.h"
#include "tests/support/object_servers.h"

namespace arca::persistence {
namespace {

using store::ErrorKind;
using store::StoreError;
using testsupport::TempDir;

std::string metadata(const std::string& name) {
  return "{\n  \"kind\": \"Backup\",\n  \"apiVersion\": \"velero.io/v1\",\n  \"metadata\": {\n    \"name\": \"" + name +
         "\"\n  },\n  \"status\": {\n    \"phase\": \"Completed\"\n  }\n}\n";
}

store::Reader reader_of(std::shared_ptr<std::string> data) {
  auto offset = std::make_shared<size_t>(0);
  return [data, offset](char* buffer, size_t capacity) {
    size_t n = std::min(capacity, data->size() - *offset);
    std::copy_n(data->data() + *offset, n, buffer);
    *offset += n;
    return n;
  };
}

BackupUpload upload_of(const std::string& name, const std::string& tarball = "tarball bytes") {
  BackupUpload u;
  u.name = name;
  u.metadata_json = metadata(name);
  u.tarball = reader_of(std::make_shared<std::string>(tarball));
  u.log_text = "time=now level=info msg=\"Backup completed\"\n";
  u.resource_list = reader_of(std::make_shared<std::string>(R"({"v1/ConfigMap":["shop/a"]})"));
  return u;
}

TEST(Layout, KeysAreVelerosExactly) {
  Layout l = make_layout("/team/velero/");
  EXPECT_EQ(l.prefix, "team/velero/");
  EXPECT_EQ(make_layout("").prefix, "");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::Metadata), "team/velero/backups/b1/velero-backup.json");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::Tarball), "team/velero/backups/b1/b1.tar.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::Logs), "team/velero/backups/b1/b1-logs.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::PodVolumeBackups), "team/velero/backups/b1/b1-podvolumebackups.json.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::VolumeSnapshots), "team/velero/backups/b1/b1-volumesnapshots.json.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::ItemOperations), "team/velero/backups/b1/b1-itemoperations.json.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::ResourceList), "team/velero/backups/b1/b1-resource-list.json.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::Results), "team/velero/backups/b1/b1-results.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::VolumeInfo), "team/velero/backups/b1/b1-volumeinfo.json.gz");
  EXPECT_EQ(backup_key(l, "b1", BackupFile::CsiVolumeSnapshotClasses),
            "team/velero/backups/b1/b1-csi-volumesnapshotclasses.json.gz");
  EXPECT_EQ(restore_key(l, "r1", RestoreFile::Logs), "team/velero/restores/r1/restore-r1-logs.gz");
  EXPECT_EQ(restore_key(l, "r1", RestoreFile::Results), "team/velero/restores/r1/restore-r1-results.gz");
  EXPECT_EQ(restore_key(l, "r1", RestoreFile::ResourceList),
            "team/velero/restores/r1/restore-r1-resource-list.json.gz");
  EXPECT_EQ(restore_key(l, "r1", RestoreFile::ItemOperations),
            "team/velero/restores/r1/restore-r1-itemoperations.json.gz");
  EXPECT_EQ(restore_key(l, "r1", RestoreFile::VolumeInfo), "team/velero/restores/r1/r1-volumeinfo.json.gz");
  EXPECT_EQ(revision_key(l), "team/velero/metadata/revision");
}

class LocalLocation : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir.file("root/bucket"));
    inner = store::open_store({"local", "bucket", {{"root", dir.file("root")}}, ""});
  }
  TempDir dir;
  std::unique_ptr<store::ObjectStore> inner;
  Layout layout = make_layout("velero");
};

TEST_F(LocalLocation, UploadOrderPutsMetadataLastAndEveryFileIsThere) {
  store::FaultStore recorder(*inner);
  put_backup(recorder, layout, upload_of("b1"));
  std::vector<std::string> puts;
  for (const auto& call : recorder.calls())
    if (call.rfind("put ", 0) == 0) puts.push_back(call.substr(4));
  std::vector<std::string> expected = {
      "velero/backups/b1/b1-logs.gz",
      "velero/backups/b1/b1.tar.gz",
      "velero/backups/b1/b1-podvolumebackups.json.gz",
      "velero/backups/b1/b1-volumesnapshots.json.gz",
      "velero/backups/b1/b1-itemoperations.json.gz",
      "velero/backups/b1/b1-resource-list.json.gz",
      "velero/backups/b1/b1-results.gz",
      "velero/backups/b1/b1-volumeinfo.json.gz",
      "velero/backups/b1/velero-backup.json",
  };
  EXPECT_EQ(puts, expected);
  EXPECT_EQ(read_backup_metadata(*inner, layout, "b1"), metadata("b1"));
  EXPECT_EQ(read_backup_gzip_file(*inner, layout, "b1", BackupFile::ResourceList), "{\"v1/ConfigMap\":[\"shop/a\"]}\n");
  EXPECT_EQ(read_backup_gzip_file(*inner, layout, "b1", BackupFile::PodVolumeBackups), "null\n");
  EXPECT_FALSE(read_backup_gzip_file(*inner, layout, "b1", BackupFile::CsiVolumeSnapshots).has_value());
  EXPECT_EQ(store::get_string(*inner, backup_key(layout, "b1", BackupFile::Tarball)), "tarball bytes");
}

// The JSON of a resource list with `items` entries, produced a piece at a time and never held whole.
store::Reader generated_resource_list(size_t items) {
  struct State {
    size_t next = 0;
    bool closed = false;
    std::string pending = "{\"v1/ConfigMap\":[";
    size_t offset = 0;
  };
  auto state = std::make_shared<State>();
  return [state, items](char* buffer, size_t capacity) {
    size_t written = 0;
    while (written < capacity) {
      if (state->offset == state->pending.size()) {
        state->pending.clear();
        state->offset = 0;
        while (state->pending.size() < 4096 && state->next < items) {
          size_t i = state->next++;
          state->pending += (i ? ",\"ns-" : "\"ns-") + std::to_string(i % 1000) + "/cm-" + std::to_string(i) + "\"";
        }
        if (state->pending.empty()) {
          if (state->closed) break;
          state->pending = "]}";
          state->closed = true;
        }
      }
      size_t n = std::min(capacity - written, state->pending.size() - state->offset);
      std::copy_n(state->pending.data() + state->offset, n, buffer + written);
      state->offset += n;
      written += n;
    }
    return written;
  };
}

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST_F(LocalLocation, ResourceListIsStreamedWhateverItsSize) {
  // ~46 MB of JSON (2.4 million entries) generated on the fly: the upload gzips it as it comes, so the uploading
  // process's peak RSS grows by a small fraction of it. The upload runs in a child process, whose peak RSS
  // (wait4) starts from this process's current resident set rather than from whatever peak earlier tests left.
  constexpr size_t kItems = 2'400'000;
  size_t json_size = 0;
  {
    auto source = generated_resource_list(kItems);
    char buffer[65536];
    while (size_t n = source(buffer, sizeof buffer)) json_size += n;
  }
  ASSERT_GT(json_size, 40u << 20);
  long baseline = resident_kib();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    BackupUpload u = upload_of("big");
    u.resource_list = generated_resource_list(kItems);
    try {
      put_backup(*inner, layout, u);
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  int status = 0;
  rusage usage{};
  ASSERT_EQ(wait4(child, &status, 0, &usage), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  long growth_mib = (usage.ru_maxrss - baseline) / 1024;
  EXPECT_LT(growth_mib, 16) << "a " << (json_size >> 20) << " MiB resource list raised the peak RSS by " << growth_mib
                            << " MiB: it was not streamed";

  // Read back byte for byte, and compressed well below the JSON's size.
  std::string expected;
  expected.reserve(json_size + 1);
  {
    auto source = generated_resource_list(kItems);
    char buffer[65536];
    while (size_t n = source(buffer, sizeof buffer)) expected.append(buffer, n);
  }
  auto stored = read_backup_gzip_file(*inner, layout, "big", BackupFile::ResourceList);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(*stored == expected + "\n") << "the stored list differs from the generated one";
  EXPECT_LT(store::get_string(*inner, backup_key(layout, "big", BackupFile::ResourceList)).size(), json_size / 4);
}

TEST_F(LocalLocation, ListingCountsOnlyBackupsWithMetadata) {
  put_backup(*inner, layout, upload_of("b2"));
  put_backup(*inner, layout, upload_of("b1"));
  store::put_string(*inner, "velero/backups/half/half.tar.gz", "no metadata yet");
  EXPECT_EQ(list_backups(*inner, layout), (std::vector<std::string>{"b1", "b2"}));
  EXPECT_TRUE(backup_exists(*inner, layout, "b1"));
  EXPECT_FALSE(backup_exists(*inner, layout, "half"));
  // Another prefix is another location.
  EXPECT_TRUE(list_backups(*inner, make_layout("other")).empty());
}

TEST_F(LocalLocation, FailedUploadRemovesItsFilesAndTouchesNothingElse) {
  put_backup(*inner, layout, upload_of("kept"));
  for (const char* failing : {"b1.tar.gz", "b1-results.gz", "velero-backup.json"}) {
    store::FaultStore faulty(*inner);
    faulty.add_fault({"put", failing, 0, ErrorKind::Unreachable, -1});
    EXPECT_THROW(put_backup(faulty, layout, upload_of("b1")), StoreError) << failing;
    EXPECT_FALSE(backup_exists(*inner, layout, "b1")) << failing;
    auto left = store::list_all(*inner, backup_dir(layout, "b1")).objects;
    // Only the log may stay behind (as in Velero); never a tarball or metadata.
    for (const auto& o : left) EXPECT_EQ(o.key, "velero/backups/b1/b1-logs.gz") << failing;
  }
  EXPECT_EQ(list_backups(*inner, layout), std::vector<std::string>{"kept"});
  EXPECT_EQ(store::get_string(*inner, backup_key(layout, "kept", BackupFile::Tarball)), "tarball bytes");
}

// As in Velero a backup whose log could not be uploaded is still stored, and the failure is logged, not dropped.
TEST_F(LocalLocation, FailedLogUploadKeepsTheBackupAndIsLogged) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)));
  store::FaultStore faulty(*inner);
  faulty.add_fault({"put", "b1-logs.gz", 0, ErrorKind::Unreachable, -1});
  put_backup(faulty, layout, upload_of("b1"));
  spdlog::set_default_logger(previous);
  EXPECT_TRUE(backup_exists(*inner, layout, "b1"));
  EXPECT_NE(captured.str().find("backup=b1 its log could not be uploaded"), std::string::npos) << captured.str();
}

TEST_F(LocalLocation, ExistingBackupIsNeverOverwritten) {
  put_backup(*inner, layout, upload_of("b1", "first"));
  try {
    put_backup(*inner, layout, upload_of("b1", "second"));
    FAIL() << "overwrote an existing backup";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::AlreadyExists);
    EXPECT_NE(std::string(e.what()).find("backup already exists in object storage"), std::string::npos);
  }
  EXPECT_EQ(store::get_string(*inner, backup_key(layout, "b1", BackupFile::Tarball)), "first");
}

TEST_F(LocalLocation, DeleteRemovesMetadataFirstThenEverything) {
  put_backup(*inner, layout, upload_of("b1"));
  put_backup(*inner, layout, upload_of("b10"));  // shares the "b1" prefix: must survive
  put_restore_file(*inner, layout, "r1", RestoreFile::Results, "{}");
  store::FaultStore recorder(*inner);
  delete_backup(recorder, layout, "b1");
  auto calls = recorder.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), "remove velero/backups/b1/velero-backup.json");
  EXPECT_TRUE(store::list_all(*inner, backup_dir(layout, "b1")).objects.empty());
  EXPECT_EQ(list_backups(*inner, layout), std::vector<std::string>{"b10"});
  delete_backup(*inner, layout, "b1");  // again: nothing there, no error
  delete_restore(*inner, layout, "r1");
  EXPECT_TRUE(store::list_all(*inner, restore_dir(layout, "r1")).objects.empty());
}

// The drills' F6: temporary files of uploads a killed server left behind were never reclaimed. Deleting the
// interrupted backup removes those of processes that are gone, never those of a live one.
TEST_F(LocalLocation, DeleteRemovesTemporaryFilesOfGoneProcessesOnly) {
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string files = dir.file("root/bucket/velero/backups/b1/");
  std::filesystem::create_directories(files);
  std::string abandoned = files + ".arca-tmp-" + std::to_string(dead) + "-3";
  std::string live = files + ".arca-tmp-" + std::to_string(::getpid()) + "-4";
  std::ofstream(abandoned) << std::string(1000, 'x');
  std::ofstream(live) << "in progress";
  put_backup(*inner, layout, upload_of("b1"));
  delete_backup(*inner, layout, "b1");
  EXPECT_FALSE(std::filesystem::exists(abandoned));
  EXPECT_TRUE(std::filesystem::exists(live));
}

TEST_F(LocalLocation, MissingBackupOrPrefixIsOneClearError) {
  try {
    read_backup_metadata(*inner, make_layout("no/such/prefix"), "b1");
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("no/such/prefix/backups/b1/velero-backup.json"), std::string::npos)
        << e.what();
  }
  store::put_string(*inner, backup_key(layout, "bad", BackupFile::Metadata), R"({"kind":"Restore"})");
  EXPECT_THROW(read_backup_metadata(*inner, layout, "bad"), StoreError);
  store::put_string(*inner, backup_key(layout, "bad", BackupFile::Results), "not gzip");
  EXPECT_THROW(read_backup_gzip_file(*inner, layout, "bad", BackupFile::Results), StoreError);
}

TEST_F(LocalLocation, ValidationRefusesStrayTopLevelDirectories) {
  put_backup(*inner, layout, upload_of("b1"));
  put_restore_file(*inner, layout, "r1", RestoreFile::Logs, "log");
  EXPECT_NO_THROW(validate_location(*inner, layout));
  store::put_string(*inner, "velero/photos/cat.jpg", "meow");
  try {
    validate_location(*inner, layout);
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("\"photos\""), std::string::npos) << e.what();
  }
}

// A real tarball through a real S3 server and back, and the same bad-input cases there.
TEST(RemoteLocations, TarballRoundTripThroughS3AndAzure) {
  TempDir dir;
  auto s3 = testsupport::start_s3rver(dir);
  testsupport::create_bucket(s3, "velero");
  auto azure = testsupport::start_azurite(dir);
  testsupport::create_container(azure, "velero");
  std::ofstream(dir.file("aws")) << "[default]\naws_access_key_id=S3RVER\naws_secret_access_key=S3RVER\n";
  std::ofstream(dir.file("azure")) << "AZURE_STORAGE_ACCOUNT_ACCESS_KEY=" << testsupport::Azurite::kAccountKey << "\n";
  std::vector<store::LocationConfig> locations = {
      {"aws", "velero", {{"region", "us-east-1"}, {"s3Url", s3.url}, {"s3ForcePathStyle", "true"}}, dir.file("aws")},
      {"azure",
       "velero",
       {{"storageAccount", "devstoreaccount1"}, {"storageAccountURI", azure.account_uri}},
       dir.file("azure")}};
  for (const auto& location : locations) {
    SCOPED_TRACE(location.provider);
    auto store = store::open_store(location);
    Layout layout = make_layout("cluster-a");
    // Write the tarball to a file as the backup run does, then upload it from the file.
    std::string tar_path = dir.file("b1.tar.gz");
    {
      std::ofstream out(tar_path, std::ios::binary);
      archive::TarballWriter writer([&](const char* d, size_t n) { out.write(d, static_cast<std::streamsize>(n)); });
      for (int i = 0; i < 500; ++i)
        writer.add_item(
            {"configmaps", "shop", "cm-" + std::to_string(i)}, "v1", true,
            R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-)" + std::to_string(i) + "\"}}");
      writer.finish();
    }
    std::ifstream in(tar_path, std::ios::binary);
    BackupUpload upload = upload_of("b1");
    upload.tarball = [&](char* buffer, size_t capacity) {
      in.read(buffer, static_cast<std::streamsize>(capacity));
      return static_cast<size_t>(in.gcount());
    };
    put_backup(*store, layout, upload);
    EXPECT_EQ(list_backups(*store, layout), std::vector<std::string>{"b1"});
    EXPECT_EQ(read_backup_metadata(*store, layout, "b1"), metadata("b1"));
    // Restore's path: download to a file, then read it from disk.
    download_backup_file(*store, layout, "b1", BackupFile::Tarball, dir.file("restore.tar.gz"));
    std::string downloaded = testsupport::read_file(dir.file("restore.tar.gz"));
    EXPECT_EQ(downloaded, testsupport::read_file(tar_path));
    EXPECT_FALSE(std::filesystem::exists(dir.file("restore.tar.gz.download")));
    std::string url = signed_backup_file_url(*store, layout, "b1", BackupFile::Logs);
    EXPECT_NE(url.find("b1-logs.gz"), std::string::npos) << url;
    size_t offset = 0;
    archive::TarballReader reader([&](char* buffer, size_t capacity) {
      size_t n = std::min(capacity, downloaded.size() - offset);
      std::copy_n(downloaded.data() + offset, n, buffer);
      offset += n;
      return n;
    });
    int entries = 0;
    while (auto e = reader.next()) ++entries;
    EXPECT_EQ(entries, 1001);
    // A truncated tarball in storage is reported by the reader, not silently shortened.
    store::put_string(*store, "cluster-a/backups/cut/cut.tar.gz", downloaded.substr(0, downloaded.size() / 2));
    std::string cut = store::get_string(*store, "cluster-a/backups/cut/cut.tar.gz");
    offset = 0;
    archive::TarballReader cut_reader([&](char* buffer, size_t capacity) {
      size_t n = std::min(capacity, cut.size() - offset);
      std::copy_n(cut.data() + offset, n, buffer);
      offset += n;
      return n;
    });
    EXPECT_THROW(while (cut_reader.next()){}, archive::ArchiveError);
    delete_backup(*store, layout, "b1");
    EXPECT_TRUE(list_backups(*store, layout).empty());
    try {
      download_backup_file(*store, layout, "b1", BackupFile::Tarball, dir.file("gone.tar.gz"));
      ADD_FAILURE() << "downloaded a deleted backup";
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::NotFound) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir.file("gone.tar.gz")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("gone.tar.gz.download")));
    // A wrong bucket is one clear error.
    auto wrong = location;
    wrong.bucket = "nope";
    auto missing = store::open_store(wrong);
    try {
      list_backups(*missing, layout);
      ADD_FAILURE() << "listing a missing bucket succeeded";
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::NoSuchBucket) << e.what();
    }
  }
}

}  // namespace
}  // namespace arca::persistence
