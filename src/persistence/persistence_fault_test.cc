// The bucket layout through a fault-injecting proxy in front of s3rver: answers lost after the request was
// applied, connection resets and 5xx. Whatever happens, a backup in the bucket is listed (has its
// velero-backup.json) if and only if every one of its files is there and complete.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <random>

#include "persistence/backup_store.h"
#include "store/location.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/object_servers.h"

namespace arca::persistence {
namespace {

using testsupport::FaultProxy;
using testsupport::TempDir;

std::string metadata(const std::string& name) {
  return "{\n  \"kind\": \"Backup\",\n  \"apiVersion\": \"velero.io/v1\",\n  \"metadata\": {\n    \"name\": \"" + name +
         "\"\n  },\n  \"status\": {\n    \"phase\": \"Completed\"\n  }\n}\n";
}

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937_64 random(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random());
  return out;
}

BackupUpload upload_of(const std::string& name, const std::string& tarball) {
  BackupUpload u;
  u.name = name;
  u.metadata_json = metadata(name);
  u.tarball = store::string_reader(tarball);
  u.log_text = "level=info msg=done\n";
  return u;
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

class S3BehindProxy : public ::testing::Test {
 protected:
  void SetUp() override {
    s3_ = std::make_unique<testsupport::S3rver>(testsupport::start_s3rver(dir_));
    testsupport::create_bucket(*s3_, "velero");
    proxy_ = std::make_unique<FaultProxy>(s3_->url);
    std::ofstream(dir_.file("aws")) << "[default]\naws_access_key_id=S3RVER\naws_secret_access_key=S3RVER\n";
    faulty_ = store::open_store(config(proxy_->url()));
    direct_ = store::open_store(config(s3_->url));
  }
  store::LocationConfig config(const std::string& url) {
    return store::LocationConfig{
        "aws", "velero", {{"region", "us-east-1"}, {"s3Url", url}, {"s3ForcePathStyle", "true"}}, dir_.file("aws")};
  }

  // The invariant, checked directly against s3rver: every listed backup has its tarball with the bytes
  // uploaded and its other files; `expected` holds the tarballs of the backups that must be listed.
  void expect_listed_exactly(const std::map<std::string, std::string>& expected) {
    std::vector<std::string> names;
    for (const auto& [name, tarball] : expected) names.push_back(name);
    ASSERT_EQ(list_backups(*direct_, layout_), names);
    for (const auto& [name, tarball] : expected) {
      SCOPED_TRACE(name);
      EXPECT_EQ(read_backup_metadata(*direct_, layout_, name), metadata(name));
      EXPECT_EQ(store::get_string(*direct_, backup_key(layout_, name, BackupFile::Tarball)), tarball);
      EXPECT_TRUE(read_backup_gzip_file(*direct_, layout_, name, BackupFile::ResourceList).has_value());
      EXPECT_TRUE(read_backup_gzip_file(*direct_, layout_, name, BackupFile::Results).has_value());
    }
  }

  // No file of a backup that is not listed may stay behind except its log (uploaded first, as in Velero).
  void expect_no_data_of(const std::string& name) {
    for (const auto& object : store::list_all(*direct_, backup_dir(layout_, name)).objects)
      EXPECT_TRUE(object.key.ends_with("-logs.gz")) << object.key << " left behind";
  }

  TempDir dir_;
  std::unique_ptr<testsupport::S3rver> s3_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<store::ObjectStore> faulty_, direct_;
  Layout layout_ = make_layout("cluster");
};

// The fault suite's seed 404: an answer to GET velero-backup.json cut part-way ("transfer closed with 1781 bytes
// remaining to read") failed the restore that was reading it. A download kept in memory starts again.
TEST_F(S3BehindProxy, AMetadataDownloadCutPartWayIsStartedAgain) {
  // As large as a real one, so that the cut falls inside the body, after the headers.
  std::string text = metadata("b1");
  text.insert(text.find("\"status\""), "\"note\": \"" + std::string(4000, 'x') + "\",\n  ");
  store::put_string(*direct_, backup_key(layout_, "b1", BackupFile::Metadata), text);
  auto cut = std::make_shared<int>(0);
  proxy_->truncate_answers([cut](std::string_view method, std::string_view target) {
    return method == "GET" && contains(target, "velero-backup.json") && (*cut)++ < 2;
  }, 2000);
  EXPECT_EQ(read_backup_metadata(*faulty_, layout_, "b1"), text);
  EXPECT_EQ(proxy_->failed_requests(), 2);
}

// The drills' 304 s of silence, on the object-store side: a server that takes a request and never answers. Each
// attempt waited its 60 s without a byte and three were made, ending in libcurl's "Operation too slow". Now a
// stalled request is tried twice at most and the one line says what was waited for.
TEST_F(S3BehindProxy, AStoreThatNeverAnswersEndsTheRequestInBoundedTimeSayingWhatItWaitedFor) {
  ::setenv("ARCA_STORE_STALL_SECONDS", "1", 1);
  auto stalling = store::open_store(config(proxy_->url()));
  ::unsetenv("ARCA_STORE_STALL_SECONDS");
  std::string key = backup_key(layout_, "held", BackupFile::Tarball);
  store::put_string(*direct_, key, "tarball");
  proxy_->hold([](std::string_view method, std::string_view target) {
    return method == "GET" && contains(target, "held.tar.gz");
  });
  auto start = std::chrono::steady_clock::now();
  try {
    store::get_string(*stalling, key);
    ADD_FAILURE() << "a held GET answered";
  } catch (const store::StoreError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_TRUE(contains(message, "GET " + key)) << message;
    EXPECT_TRUE(contains(message, "no byte moved for 1 s waiting for the server's answer")) << message;
  }
  // 1 s, a 0.4 s back-off, 1 s; before: three times 60 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(6000));
  EXPECT_EQ(proxy_->failed_requests(), 2);
  proxy_->release();
  // A value that is no number of seconds is refused in one line when the store is opened.
  ::setenv("ARCA_STORE_STALL_SECONDS", "soon", 1);
  try {
    store::open_store(config(proxy_->url()));
    ADD_FAILURE() << "ARCA_STORE_STALL_SECONDS=soon was accepted";
  } catch (const store::StoreError& e) {
    EXPECT_EQ(e.kind(), store::ErrorKind::InvalidArgument);
    EXPECT_TRUE(contains(e.what(), "ARCA_STORE_STALL_SECONDS")) << e.what();
  }
  ::unsetenv("ARCA_STORE_STALL_SECONDS");
}

// The drills' high finding: every answer to the velero-backup.json PUT lost, although s3rver stored it.
// Before, arca failed the upload and removed the tarball, leaving a Completed velero-backup.json without data.
TEST_F(S3BehindProxy, LostAnswersToTheMetadataUploadAreResolvedByReadingBack) {
  proxy_->drop_answers([](std::string_view method, std::string_view target) {
    return method == "PUT" && contains(target, "velero-backup.json");
  });
  std::string tarball = random_bytes(100000, 1);
  put_backup(*faulty_, layout_, upload_of("b1", tarball));
  EXPECT_GE(proxy_->failed_requests(), 1);
  expect_listed_exactly({{"b1", tarball}});
}

// When the metadata really was not stored (the server refused it), the backup is not listed and its data is
// removed; nothing claims a backup that is not there.
TEST_F(S3BehindProxy, RefusedMetadataUploadLeavesNothingListed) {
  proxy_->fail([](std::string_view method, std::string_view target) {
    return method == "PUT" && contains(target, "velero-backup.json");
  }, 500, "injected");
  EXPECT_THROW(put_backup(*faulty_, layout_, upload_of("b1", random_bytes(1000, 2))), store::StoreError);
  expect_listed_exactly({});
  expect_no_data_of("b1");
}

// A metadata PUT that reached s3rver but whose answers were lost, like every later answer (the read-back, the
// DELETE, the HEAD that would confirm it): arca cannot know what is stored. It may fail the upload, but the
// data of a backup that is still listed stays complete.
TEST_F(S3BehindProxy, MetadataThatCannotBeCheckedNeverLeavesAListedBackupWithoutData) {
  std::atomic<bool> metadata_sent{false};
  proxy_->drop_answers([&](std::string_view method, std::string_view target) {
    if (method == "PUT" && contains(target, "velero-backup.json")) metadata_sent = true;
    return metadata_sent.load();  // from the metadata PUT on, every answer is lost
  });
  std::string tarball = random_bytes(1000, 3);
  EXPECT_THROW(put_backup(*faulty_, layout_, upload_of("b1", tarball)), store::StoreError);
  proxy_->clear();
  if (backup_exists(*direct_, layout_, "b1")) expect_listed_exactly({{"b1", tarball}});
  else expect_listed_exactly({});
}

// A lost answer to CompleteMultipartUpload: the object is complete in the bucket; the retried Complete is
// refused (s3rver 500, AWS NoSuchUpload). Before, the backup failed although its upload had succeeded.
TEST_F(S3BehindProxy, LostAnswerToCompleteMultipartUploadIsResolvedBySizeAndETag) {
  int dropped = 0;
  proxy_->drop_answers([&](std::string_view method, std::string_view target) {
    return method == "POST" && contains(target, "uploadId=") && dropped++ == 0;
  });
  std::string tarball = random_bytes((8 << 20) + 300000, 4);  // two parts
  put_backup(*faulty_, layout_, upload_of("big", tarball));
  EXPECT_GE(dropped, 2) << "the proxy saw the Complete and its retry";
  expect_listed_exactly({{"big", tarball}});
}

// A lost answer to a single-request PUT of a data file: read back by size and MD5 instead of failing the backup.
TEST_F(S3BehindProxy, LostAnswersToADataFileUploadAreResolvedByReadingBack) {
  proxy_->drop_answers(
      [](std::string_view method, std::string_view target) { return method == "PUT" && contains(target, ".tar.gz"); });
  std::string tarball = random_bytes(50000, 5);
  put_backup(*faulty_, layout_, upload_of("b2", tarball));
  EXPECT_GE(proxy_->failed_requests(), 3);
  expect_listed_exactly({{"b2", tarball}});
}

// The drills' F4: a tarball download cut short failed the restore outright. It is fetched again from the
// start, and the file holds exactly the object.
TEST_F(S3BehindProxy, TruncatedDownloadsAreRetriedFromTheStart) {
  std::string tarball = random_bytes(3 << 20, 6);
  put_backup(*direct_, layout_, upload_of("b3", tarball));
  int cut = 0;
  proxy_->truncate_answers([&](std::string_view method, std::string_view target) {
    return method == "GET" && contains(target, "b3.tar.gz") && cut++ < 2;
  }, 1 << 20);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), &std::fclose);
  download_to_file(*faulty_, backup_key(layout_, "b3", BackupFile::Tarball), file.get());
  EXPECT_EQ(cut, 3) << "two answers cut short, the third whole";
  std::string read(tarball.size() + 1, '\0');
  std::rewind(file.get());
  read.resize(std::fread(read.data(), 1, read.size(), file.get()));
  EXPECT_TRUE(read == tarball) << "downloaded " << read.size() << " of " << tarball.size() << " bytes";
  // A missing object is not retried: one clear NotFound.
  cut = 0;
  EXPECT_THROW(download_to_file(*faulty_, backup_key(layout_, "nope", BackupFile::Tarball), file.get()),
               store::StoreError);
}

// Randomised, seeded: a third of all requests lose their answer or are reset. Each upload either succeeds and
// is listed with all its data, or fails and is not listed.
TEST_F(S3BehindProxy, SeededRandomFaultsNeverListABackupWithoutItsData) {
  std::map<std::string, std::string> expected;
  int succeeded = 0, failed = 0;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    auto random = std::make_shared<std::mt19937>(seed);
    auto matcher = [random](std::string_view, std::string_view) {
      return std::uniform_real_distribution<>(0, 1)(*random) < 0.33;
    };
    if (seed % 2) proxy_->drop_answers(matcher);
    else proxy_->reset_requests(matcher);
    std::string name = "r" + std::to_string(seed);
    std::string tarball = random_bytes(seed == 3 ? (8 << 20) + 1000 : 20000, seed);
    try {
      put_backup(*faulty_, layout_, upload_of(name, tarball));
      expected[name] = tarball;
      ++succeeded;
    } catch (const store::StoreError& e) {
      ++failed;
      proxy_->clear();
      if (!backup_exists(*direct_, layout_, name)) expect_no_data_of(name);
      else expected[name] = tarball;  // kept because its metadata could not be removed: must be complete
    }
    proxy_->clear();
  }
  std::cout << "seeded uploads: " << succeeded << " succeeded, " << failed << " failed, "
            << proxy_->failed_requests() << " faults injected\n";
  EXPECT_GT(proxy_->failed_requests(), 10);
  expect_listed_exactly(expected);
}

}  // namespace
}  // namespace arca::persistence
